/**
 * `tiedet convert IN.pth OUT.safetensors [--all]` — a PyTorch `torch.save` checkpoint (a bare state dict, an
 * mmdetection 2.x / 3.x checkpoint, torchvision's reference-script checkpoint) to a safetensors file, without
 * Python (src/io/pth.ts). By default the model's state dict is converted (mmdetection's `state_dict` entry,
 * torchvision's `model` entry, or the file itself), keys unchanged (PyTorch layout, loadable by
 * `safetensors.torch.load_file`); `--all` keeps every tensor of the file under its path (`optimizer.state.0.
 * momentum_buffer`). Dtypes: float32 as F32, float16 / bfloat16 / float64 as F32 (exact for the 16-bit ones),
 * int64 as I64 (exact), int32 / int16 / int8 as I32, uint8 as U8, bool as BOOL. The file's metadata records the
 * source file and, for mmdetection checkpoints, the version and the class names (JSON).
 *
 * Never overwrites its input (same path, or the same file through a link); writes atomically; any unreadable
 * tensor is an error naming the file and the key. One summary line on stdout.
 */
import { existsSync, realpathSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import type { PthFile as PthFileType } from '../src/io/pth.js';
import { CliError } from './cli-error.js';

export interface ConvertArgs {
  input: string;
  output: string;
  all?: boolean;
}

const sameFile = (a: string, b: string): boolean => {
  if (resolve(a) === resolve(b)) return true;
  if (!existsSync(b)) return false;
  try {
    if (realpathSync(a) === realpathSync(b)) return true;
    const sa = statSync(a);
    const sb = statSync(b);
    return sa.ino === sb.ino && sa.dev === sb.dev;
  } catch {
    return false;
  }
};

export interface ConvertSummary {
  tensors: number;
  bytes: number;
  /** Tensors per source dtype. */
  dtypes: Record<string, number>;
  source: string;
  producer: string | null;
  skipped: number;
  seconds: number;
}

/** Converts; throws CliError (one line, naming the file and key) on any problem. */
export async function convertPth(args: ConvertArgs, progress?: (done: number, total: number) => void): Promise<ConvertSummary> {
  const t0 = performance.now();
  const { input, output } = args;
  if (!output.endsWith('.safetensors')) throw new CliError(`${output}: the output must be a .safetensors file`, 2);
  if (!existsSync(input)) throw new CliError(`${input}: no such file`, 2);
  if (sameFile(input, output)) throw new CliError(`${output}: refusing to overwrite the input file`, 2);
  const { PthFile, PthError, stateDictOf } = await import('../src/io/pth.js');
  const { mmdetCheckpointInfo } = await import('../src/io/mmdet-names.js');
  const { writeSafetensors } = await import('../src/io/safetensors.js');
  type Input = import('../src/io/safetensors.js').SafetensorsInput;
  let pth: PthFileType | null = null;
  try {
    pth = PthFile.open(input);
    const sd = stateDictOf(pth, { all: args.all });
    if (sd.tensors.size === 0) throw new CliError(`${input}: no tensors to convert`);
    const info = mmdetCheckpointInfo(sd.meta);
    const list: Array<[string, Input]> = [];
    const dtypes: Record<string, number> = {};
    let bytes = 0;
    let done = 0;
    for (const [key, value] of sd.tensors) {
      const t = pth.tensor(value, key);
      dtypes[t.dtype] = (dtypes[t.dtype] ?? 0) + 1;
      let entry: Input;
      if (t.dtype === 'int64') entry = { dtype: 'I64', shape: t.shape, data: pth.tensorInt64(t, key) };
      else {
        const data = pth.tensorData(t, key);
        entry =
          data instanceof Float32Array
            ? { dtype: 'F32', shape: t.shape, data }
            : data instanceof Int32Array
              ? { dtype: 'I32', shape: t.shape, data }
              : { dtype: t.dtype === 'bool' ? 'BOOL' : 'U8', shape: t.shape, data };
      }
      bytes += entry.data.length * (entry.dtype === 'I64' ? 8 : entry.dtype === 'F32' || entry.dtype === 'I32' ? 4 : 1);
      list.push([key, entry]);
      progress?.(++done, sd.tensors.size);
    }
    const metadata: Record<string, string> = { format: 'pt', source: basename(input), converter: 'tiedet convert' };
    if (info.version) metadata.producer = info.version;
    if (info.classes) metadata.classes = JSON.stringify(info.classes);
    writeSafetensors(output, list, metadata);
    const source = sd.source === 'all' ? 'every tensor' : sd.source === 'root' ? 'a bare state dict' : `the '${sd.source}' entry`;
    return { tensors: list.length, bytes, dtypes, source, producer: info.version, skipped: sd.skipped.length, seconds: (performance.now() - t0) / 1000 };
  } catch (e) {
    if (e instanceof CliError) throw e;
    if (e instanceof PthError) throw new CliError(e.message);
    throw new CliError((e as Error).message.includes(input) ? (e as Error).message : `${input}: ${(e as Error).message}`);
  } finally {
    pth?.close();
  }
}

export async function runConvert(args: ConvertArgs, out: (s: string) => void, err: (s: string) => void, tty = false): Promise<void> {
  let last = 0;
  const s = await convertPth(args, (done, total) => {
    const now = performance.now();
    if (tty && (now - last > 200 || done === total)) {
      last = now;
      err(`\rconverting ${done}/${total} tensors`);
      if (done === total) err('\n');
    }
  });
  const dt = Object.entries(s.dtypes).map(([k, v]) => `${v} ${k}`).join(', ');
  out(
    `converted ${s.tensors} tensors (${dt}; ${(s.bytes / 1e6).toFixed(2)} MB) from ${args.input} (${s.source}` +
      `${s.producer ? `, ${s.producer}` : ''}${s.skipped ? `, ${s.skipped} non-tensor entries skipped` : ''}) → ${args.output} in ${s.seconds.toFixed(2)} s\n`,
  );
}

export const convertCommand: CommandModule<object, ConvertArgs> = {
  command: 'convert <input> <output>',
  describe: 'Convert a PyTorch .pth checkpoint (state dict, mmdetection or torchvision checkpoint) to .safetensors, without Python',
  builder: (y) =>
    y
      .positional('input', { type: 'string', demandOption: true, describe: 'torch.save file (.pth / .pt)' })
      .positional('output', { type: 'string', demandOption: true, describe: '.safetensors file to write (never the input)' })
      .option('all', { type: 'boolean', describe: 'keep every tensor of the file (optimizer state…) under its path, not just the state dict' })
      .example('$0 convert test/fixtures/io/pth/mmdet2_retinanet_micro.pth work_dirs/retinanet_micro.safetensors', 'an mmdetection checkpoint\'s state dict')
      .example('$0 convert maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth maskrcnn.safetensors', 'torchvision\'s COCO Mask R-CNN, for tiedet infer')
      .example('$0 convert epoch_24.pth everything.safetensors --all', 'every tensor of the file, optimizer state too') as never,
  handler: async (args) => {
    await runConvert(args, (s) => process.stdout.write(s), (s) => process.stderr.write(s), process.stderr.isTTY === true);
  },
};
