/**
 * `loadWeightsInto(model, file, { strict })`: PyTorch weights from a `.pth` (torch.save: a bare state dict, an
 * mmdetection 2.x / 3.x checkpoint, torchvision's reference-script checkpoint) or a `.safetensors` file into a
 * tiedet module — what `--weights` on `tiedet test`, `train` (fine-tuning initialisation, mmdetection's
 * `load_from`) and `infer` call.
 *
 * The format is recognised from the file's first bytes (a ZIP or a legacy pickle → torch.save; anything else is
 * read as safetensors). Keys go through `mapName` (default `mmdetNames`: mmdetection's names, which are tiedet's;
 * `module.` prefixes stripped) and layouts are converted by torch-layout.ts; the loading itself (checks first,
 * then chunked writes) is checkpoint.ts's `loadTorchState`.
 *
 * strict (the default): any missing, unexpected or shape-mismatched key is an error and nothing is loaded; the
 * error is a few lines — counts and the first names of each kind — never the whole key list. strict: false
 * loads what matches and returns the same counts in the report (`formatWeightsReport` prints them).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import type { Module } from '../nn/module.js';
import { loadTorchState, loadTorchWeights, WeightsMismatchError, type TorchTensorSource, type WeightsReport } from './torch-weights.js';
import { checkNotMmdet1, mmdetCheckpointInfo, mmdetNames } from './mmdet-names.js';
import { PthError, PthFile, stateDictOf, type PthStateDict } from './pth.js';
import { readSafetensors } from './safetensors.js';
import type { LoadNameMap } from './torch-layout.js';

export interface LoadWeightsOptions {
  /** Default true: every key must match (nothing is loaded otherwise). */
  strict?: boolean;
  /** Checkpoint key → tiedet key (null: ignore the key). Default `mmdetNames`. */
  mapName?: LoadNameMap;
}

export interface LoadWeightsReport extends WeightsReport {
  format: 'pth' | 'safetensors';
  /** Where the state dict was found in a .pth: 'state_dict' (mmdetection), 'model' (torchvision scripts), 'root'. */
  source: PthStateDict['source'] | 'file';
  /** mmdetection version and classes from the checkpoint's meta (null when absent). */
  producer: string | null;
  classes: string[] | null;
  /** Entries of the state dict that are not tensors (skipped). */
  skippedEntries: string[];
  strict: boolean;
}

/** A weights file that cannot be loaded: one short message naming the file (and the keys, abbreviated). */
export class WeightsError extends Error {
  constructor(
    message: string,
    readonly report: LoadWeightsReport | null = null,
  ) {
    super(message);
    this.name = 'WeightsError';
  }
}

/** 'pth' for a ZIP or a pickle stream (torch.save, legacy included), 'safetensors' for a safetensors header. */
export function weightsFormat(file: string): 'pth' | 'safetensors' {
  let head = new Uint8Array(9);
  try {
    const fd = openSync(file, 'r');
    try {
      head = head.subarray(0, readSync(fd, head, 0, 9, 0));
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    throw new WeightsError(`${file}: cannot read: ${(e as Error).message}`);
  }
  if (head[0] === 0x50 && head[1] === 0x4b) return 'pth';
  if (head.length === 9 && head[8] === 0x7b && new DataView(head.buffer).getBigUint64(0, true) < 100_000_000n) return 'safetensors';
  if (head[0] === 0x80) return 'pth';
  return file.endsWith('.safetensors') ? 'safetensors' : 'pth';
}

const list = (names: readonly string[], n: number): string =>
  names.length <= n ? names.join(', ') : `${names.slice(0, n).join(', ')}, … ${names.length - n} more`;

/**
 * The report in a few short lines: `loaded 126/126 tensors from F (pth: mmdetection state_dict, mmdet 2.28.2,
 * 2 classes)`, then one line per kind of problem with its count and at most `maxNames` names.
 */
export function formatWeightsReport(r: LoadWeightsReport, maxNames = 5): string {
  const total = r.loadedKeys.length + r.missingKeys.length + r.mismatchedKeys.length;
  const where = r.format === 'safetensors' ? 'safetensors' : `pth, ${r.source === 'state_dict' ? "the 'state_dict' entry" : r.source === 'model' ? "the 'model' entry" : 'a bare state dict'}`;
  const extra = [r.producer, r.classes ? `${r.classes.length} classes` : null].filter(Boolean).join(', ');
  const lines = [`loaded ${r.loadedKeys.length}/${total} tensors from ${r.file} (${where}${extra ? `; ${extra}` : ''})`];
  if (r.missingKeys.length) lines.push(`missing ${r.missingKeys.length}: ${list(r.missingKeys, maxNames)}`);
  if (r.unexpectedKeys.length) lines.push(`unexpected ${r.unexpectedKeys.length}: ${list(r.unexpectedKeys, maxNames)}`);
  if (r.mismatchedKeys.length) {
    const m = r.mismatchedKeys.map((x) => `${x.fileKey} [${x.fileShape.join(', ')}] vs model [${x.expectedShape.join(', ')}]`);
    lines.push(`shape-mismatched ${m.length}: ${list(m, maxNames)}`);
  }
  if (r.ignoredKeys.length) lines.push(`ignored ${r.ignoredKeys.length}: ${list(r.ignoredKeys, maxNames)}`);
  return lines.join('\n');
}

/**
 * Load `file` (.pth or .safetensors) into `model`. Throws WeightsError naming the file — and the key where one
 * is at fault — on an unreadable file or (strict) any mismatch; the model is unchanged then.
 */
export function loadWeightsInto(model: Module, file: string, options: LoadWeightsOptions = {}): LoadWeightsReport {
  const strict = options.strict ?? true;
  const mapName = options.mapName ?? mmdetNames;
  const format = weightsFormat(file);
  let pth: PthFile | null = null;
  try {
    let extra: Pick<LoadWeightsReport, 'source' | 'producer' | 'classes' | 'skippedEntries'>;
    let run: (opts: { strict: boolean; mapName: LoadNameMap }) => WeightsReport;
    if (format === 'pth') {
      const opened = PthFile.open(file);
      pth = opened;
      const sd = stateDictOf(opened);
      checkNotMmdet1(file, sd.tensors.keys(), model);
      const info = mmdetCheckpointInfo(sd.meta);
      extra = { source: sd.source, producer: info.version, classes: info.classes, skippedEntries: sd.skipped };
      const tensors = new Map<string, TorchTensorSource>();
      for (const [key, value] of sd.tensors) {
        tensors.set(key, {
          get shape() {
            // loadTorchState prefixes the file name to errors raised here: give the detail only.
            try {
              return opened.tensor(value, key).shape;
            } catch (e) {
              throw e instanceof PthError ? new Error(e.detail) : e;
            }
          },
          get data() {
            return opened.tensorData(value, key);
          },
        });
      }
      run = (o) => loadTorchState(model, { file, tensors, metadata: null }, o);
    } else {
      extra = { source: 'file', producer: null, classes: null, skippedEntries: [] };
      run = (o) => loadTorchWeights(model, file, o);
    }
    const finish = (r: WeightsReport): LoadWeightsReport => ({ ...r, format, ...extra, strict });
    try {
      return finish(run({ strict, mapName }));
    } catch (e) {
      if (e instanceof WeightsMismatchError) {
        const report = finish(e.report);
        // A few short lines (the CLI joins them into one): counts and the first names of each kind.
        const lines = formatWeightsReport(report).split('\n').slice(1);
        throw new WeightsError(
          `cannot load ${file} into ${model.constructor.name} (strict):\n  ${lines.join(';\n  ')}\n` +
            '  (non-strict loading — --no-strict, { strict: false } — loads the matching tensors and reports the rest)',
          report,
        );
      }
      throw e;
    }
  } catch (e) {
    if (e instanceof WeightsError) throw e;
    const msg = (e as Error).message;
    throw new WeightsError(msg.includes(file) ? msg : `${file}: ${msg}`);
  } finally {
    pth?.close();
  }
}
