/**
 * PyTorch weights in and out of a tiedet `Module`, through safetensors files.
 *
 *   loadTorchWeights(model, 'r50.safetensors')   // written by safetensors.torch.save_file(m.state_dict(), …)
 *   saveTorchWeights(model, 'out.safetensors')   // loadable by safetensors.torch.load_file + load_state_dict
 *
 * Keys are matched after `mapName` (checkpoint key → tiedet key; the identity by default, which is right for
 * torchvision models; `officialTbcNames(model).toTiedet` for the official TBC code). Layouts are converted by
 * `torch-layout.ts` from the target module's classes. Loading checks everything before writing anything:
 *   - shape mismatches (shown in PyTorch layout, file vs module), missing keys (optional buffers such as
 *     `num_batches_tracked` excepted) and unexpected keys are listed, with the file name, in one error;
 *   - with `strict: false` nothing of this is an error: the matching keys are loaded and the report lists the
 *     rest, shape-mismatched keys included (mmcv's `load_checkpoint(strict=False)` behaviour, which is what
 *     fine-tuning with a different head needs);
 *   - a key that `mapName` drops (returns null) is listed as ignored, never as unexpected.
 * Files may hold F32, F16, BF16 or F64 floats (converted to float32) and any integer dtype (to int32, range
 * checked); values are cast to the target's dtype.
 */
import * as tf from '@tensorflow/tfjs';
import type { Module } from '../nn/module.js';
import { readSafetensors, writeSafetensors, type SafetensorsFile, type SafetensorsInput } from './safetensors.js';
import {
  describeState,
  toTiedetLayout,
  toTorchLayout,
  torchDtype,
  torchShape,
  torchShapeFits,
  type LoadNameMap,
  type SaveNameMap,
} from './torch-layout.js';

export interface LoadTorchWeightsOptions {
  /** Default true: any missing, unexpected or shape-mismatched key is an error (nothing is loaded then). */
  strict?: boolean;
  /** Checkpoint key → tiedet key, or null to ignore the key. Default: the identity (torchvision names). */
  mapName?: LoadNameMap;
}

export interface ShapeMismatch {
  /** tiedet key. */
  key: string;
  /** The key in the file (differs from `key` when `mapName` renamed it). */
  fileKey: string;
  /** Shape in the file (PyTorch layout). */
  fileShape: number[];
  /** Shape the module needs, in PyTorch layout. */
  expectedShape: number[];
}

export interface WeightsReport {
  file: string;
  /** tiedet keys that received values. */
  loadedKeys: string[];
  /** tiedet keys the file did not provide (optional buffers not listed). */
  missingKeys: string[];
  /** Keys of the file (as spelled there) that match nothing in the module. */
  unexpectedKeys: string[];
  /** Keys present on both sides with different shapes (not loaded). */
  mismatchedKeys: ShapeMismatch[];
  /** Keys of the file that `mapName` dropped. */
  ignoredKeys: string[];
  /** The file's `__metadata__`. */
  metadata: Record<string, string> | null;
}

const fmt = (s: readonly number[]): string => `[${s.join(', ')}]`;

/** The first few items of a list for an error message, and how many more there are (the report has them all). */
const firstOf = (items: readonly string[], sep: string, n = 6): string =>
  items.slice(0, n).join(sep) + (items.length > n ? `${sep === ', ' ? ', ' : sep}… and ${items.length - n} more` : '');

/** At most this many float32 values are turned into tensors at once (bounds the peak memory of a load). */
const CHUNK_ELEMENTS = 16 * 1024 * 1024;

/**
 * Load a safetensors file of PyTorch weights (a `state_dict()`) into `module`. Throws (module unchanged) on
 * any problem unless `strict: false`; returns the report.
 */
export function loadTorchWeights(module: Module, path: string, options: LoadTorchWeightsOptions = {}): WeightsReport {
  return loadTorchState(module, { file: path, ...readSafetensors(path) }, options);
}

/** One PyTorch-layout tensor of a state dict; `data` (row-major) is read only for the keys that get loaded. */
export interface TorchTensorSource {
  readonly shape: readonly number[];
  readonly data: Float32Array | Int32Array | Uint8Array;
}

/** A PyTorch state dict from any file format (safetensors, torch.save). */
export interface TorchStateSource {
  /** Names the file in errors and in the report. */
  file: string;
  tensors: ReadonlyMap<string, TorchTensorSource>;
  metadata: Record<string, string> | null;
}

/** A strict load that found mismatches: nothing was loaded; `report` says what differs. */
export class WeightsMismatchError extends Error {
  constructor(
    message: string,
    readonly report: WeightsReport,
  ) {
    super(message);
    this.name = 'WeightsMismatchError';
  }
}

/** `loadTorchWeights` for a state dict already read from any format. */
export function loadTorchState(module: Module, source: TorchStateSource, options: LoadTorchWeightsOptions = {}): WeightsReport {
  const strict = options.strict ?? true;
  const mapName = options.mapName ?? ((k: string) => k);
  const file = source;
  const path = source.file;
  const state = describeState(module);

  const report: WeightsReport = {
    file: path,
    loadedKeys: [],
    missingKeys: [],
    unexpectedKeys: [],
    mismatchedKeys: [],
    ignoredKeys: [],
    metadata: file.metadata,
  };
  const sourceOf = new Map<string, string>(); // tiedet key → file key
  for (const fileKey of file.tensors.keys()) {
    const key = mapName(fileKey);
    if (key === null) {
      report.ignoredKeys.push(fileKey);
      continue;
    }
    const entry = state.get(key);
    if (!entry) {
      report.unexpectedKeys.push(key === fileKey ? fileKey : `${fileKey} (mapped to ${key})`);
      continue;
    }
    const other = sourceOf.get(key);
    if (other !== undefined) throw new Error(`${path}: keys "${other}" and "${fileKey}" both map to "${key}"`);
    sourceOf.set(key, fileKey);
    const t = file.tensors.get(fileKey)!;
    let fits: boolean;
    try {
      fits = torchShapeFits(entry, t.shape); // also checks that the entry has a layout rule
    } catch (e) {
      throw new Error(`${path}: ${(e as Error).message}`);
    }
    if (!fits) report.mismatchedKeys.push({ key, fileKey, fileShape: [...t.shape], expectedShape: torchShape(entry) });
  }
  for (const [key, entry] of state) if (!sourceOf.has(key) && !entry.optional) report.missingKeys.push(key);
  const order = new Map([...state.keys()].map((k, i) => [k, i]));
  report.mismatchedKeys.sort((a, b) => order.get(a.key)! - order.get(b.key)!); // module order, like missingKeys

  const problems: string[] = [];
  if (report.mismatchedKeys.length) {
    const list = report.mismatchedKeys.map(
      (m) => `${m.fileKey === m.key ? m.key : `${m.fileKey} → ${m.key}`}: file ${fmt(m.fileShape)}, module ${fmt(m.expectedShape)}`,
    );
    problems.push(`size mismatch for ${list.length} key(s) (PyTorch layout):\n    ${firstOf(list, '\n    ')}`);
  }
  if (report.missingKeys.length) problems.push(`missing ${report.missingKeys.length} key(s): ${firstOf(report.missingKeys, ', ')}`);
  if (report.unexpectedKeys.length) {
    problems.push(`unexpected ${report.unexpectedKeys.length} key(s): ${firstOf(report.unexpectedKeys, ', ')}`);
  }
  if (strict && problems.length) {
    throw new WeightsMismatchError(
      `${path}: cannot load into ${module.constructor.name}:\n  ${problems.join('\n  ')}\n` +
        `  (loadTorchWeights(…, { strict: false }) loads the matching keys and returns this as a report)`,
      report,
    );
  }

  // Convert and load in chunks (bounded extra memory); nothing below can fail on the file's content any more.
  const mismatched = new Set(report.mismatchedKeys.map((m) => m.key));
  let batch = new Map<string, tf.Tensor>();
  let batchSize = 0;
  const flush = (): void => {
    try {
      module.loadStateDict(batch, { strict: false });
    } finally {
      tf.dispose([...batch.values()]);
    }
    batch = new Map();
    batchSize = 0;
  };
  for (const [key, fileKey] of sourceOf) {
    if (mismatched.has(key)) continue;
    const entry = state.get(key)!;
    const data = toTiedetLayout(entry, file.tensors.get(fileKey)!.data);
    const tensor =
      data instanceof Float32Array
        ? tf.tensor(data, entry.variable.shape, 'float32')
        : tf.tensor(data instanceof Uint8Array ? Int32Array.from(data) : data, entry.variable.shape, 'int32');
    batch.set(key, tensor);
    report.loadedKeys.push(key);
    batchSize += data.length;
    if (batchSize >= CHUNK_ELEMENTS) flush();
  }
  if (batch.size) flush();
  return report;
}

export interface SaveTorchWeightsOptions {
  /** tiedet key → key in the file. Default: the identity (torchvision names). */
  mapName?: SaveNameMap;
  /** Extra `__metadata__` entries; `format: 'pt'` is always written (what the safetensors torch helpers expect). */
  metadata?: Readonly<Record<string, string>>;
}

/**
 * Write `module`'s state in PyTorch layout (conv [out, in, kh, kw], linear [out, in], LayerNorm [P, 1, 1],
 * int32 buffers as int64) to a safetensors file, atomically. `safetensors.torch.load_file(path)` gives a state
 * dict for the equivalent PyTorch model's `load_state_dict`.
 */
export function saveTorchWeights(module: Module, path: string, options: SaveTorchWeightsOptions = {}): void {
  const mapName = options.mapName ?? ((k: string) => k);
  const tensors: Array<[string, SafetensorsInput]> = [];
  const seen = new Map<string, string>();
  for (const [key, entry] of describeState(module)) {
    const name = mapName(key);
    const other = seen.get(name);
    if (other !== undefined) throw new Error(`${path}: "${other}" and "${key}" would both be saved as "${name}"`);
    seen.set(name, key);
    const dtype = torchDtype(entry);
    const shape = torchShape(entry);
    const raw = entry.variable.dataSync() as Float32Array | Int32Array | Uint8Array;
    tensors.push([name, { dtype, shape, data: toTorchLayout(entry, raw) }]);
  }
  writeSafetensors(path, tensors, { ...options.metadata, format: 'pt' });
}
