/**
 * The synthetic occlusion dataset generator (issue 6, part 5): `generateSynthetic` writes a COCO-format dataset
 *
 *     OUT/annotations/instances_train.json   OUT/annotations/instances_val.json
 *     OUT/train/000001.png …                 OUT/val/000001.png …            OUT/README.md
 *
 * of shapes with controlled occlusion (presets.ts), and `SplitGenerator` renders any image of a split in memory
 * (scene.ts) without touching the disk. Same options → byte-identical files: every image depends only on
 * (seed, split, index) (schedule.ts), PNGs are written losslessly by data/image.ts `writeImage` (no metadata), JSON
 * keys come in a fixed order and the README holds no timings.
 */
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import { writeImage } from '../image.js';
import { CocoSplitBuilder } from './coco-json.js';
import { Placer } from './placement.js';
import { resolveConfig, type ConfigOptions, type SyntheticConfig } from './presets.js';
import { datasetReadme } from './readme.js';
import { renderScene, type Scene } from './scene.js';
import { binSchedule, imageRng, type SplitName } from './schedule.js';
import { OCCLUSION_BINS, SplitStatsAccumulator, type SplitStats } from './stats.js';

export { PRESETS, PRESET_NAMES, resolveConfig, SyntheticOptionError, type PresetName, type SyntheticConfig } from './presets.js';
export type { Scene, SceneObject } from './scene.js';
export type { SplitName } from './schedule.js';
export type { SplitStats } from './stats.js';

/** The output folder cannot be prepared or written. */
export class SyntheticOutputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SyntheticOutputError';
  }
}

export interface SyntheticProgress {
  split: SplitName;
  /** Images of this split done so far. */
  done: number;
  /** Images in this split. */
  total: number;
}

export interface GenerateSyntheticOptions extends ConfigOptions {
  /** Output folder (created if needed). */
  out: string;
  /** Replace a dataset already in `out` (its annotations/, train/, val/ and README.md); default: refuse. */
  overwrite?: boolean;
  /** Called after every image. */
  onProgress?: (p: SyntheticProgress) => void;
}

export interface SyntheticResult {
  config: SyntheticConfig;
  /** Absolute output folder. */
  out: string;
  annotationFiles: Record<SplitName, string>;
  imageDirs: Record<SplitName, string>;
  readme: string;
  stats: Record<SplitName, SplitStats>;
  /** Wall-clock seconds of the whole run. */
  seconds: number;
}

export const SPLITS: readonly SplitName[] = ['train', 'val'];
const MAX_PENDING_WRITES = 8;

/** Renders the images of one split in memory: `render(i)` is image i (0-based), aimed at `targets[i]`. */
export class SplitGenerator {
  readonly count: number;
  readonly targets: number[];
  private readonly placer: Placer;

  constructor(
    readonly config: SyntheticConfig,
    readonly split: SplitName,
  ) {
    this.count = split === 'train' ? config.train : config.val;
    this.targets = binSchedule(config.seed, split, this.count, OCCLUSION_BINS);
    this.placer = new Placer({
      width: config.size,
      height: config.size,
      classes: config.classes,
      minRadius: config.minRadius,
      maxRadius: config.maxRadius,
      maxObjects: config.maxObjects,
      bins: OCCLUSION_BINS,
    });
  }

  render(index: number): Scene {
    if (!(Number.isInteger(index) && index >= 0 && index < this.count)) {
      throw new RangeError(`${this.split}: image index must be an integer in 0…${this.count - 1}, got ${index}`);
    }
    return renderScene(this.placer, imageRng(this.config.seed, this.split, index), this.targets[index]!);
  }

  /** The file name of image i inside the split folder (1-based, zero-padded to at least 6 digits). */
  fileName(index: number): string {
    return `${String(index + 1).padStart(Math.max(6, String(this.count).length), '0')}.png`;
  }
}

function fsReason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  switch (err.code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOTDIR':
      return 'a part of the path is a file, not a folder';
    case 'EROFS':
      return 'read-only file system';
    case 'ENOSPC':
      return 'no space left on the device';
    default:
      return (err.message ?? String(e)).split('\n')[0]!;
  }
}

const DATASET_ENTRIES = ['annotations', 'train', 'val', 'README.md'];

/**
 * The marker a generated dataset carries: the list of the files make-synthetic wrote. `--overwrite` removes exactly
 * those files and only when the folder holds nothing else, so it can never delete a user's own files.
 */
export const MANIFEST_FILE = '.tiedet-synthetic.json';

interface Manifest {
  tool: 'tiedet make-synthetic';
  complete: boolean;
  files: string[];
}

function readManifest(out: string): Manifest | null {
  const file = join(out, MANIFEST_FILE);
  if (!existsSync(file)) return null;
  try {
    const m = JSON.parse(readFileSync(file, 'utf8')) as Partial<Manifest>;
    if (m.tool === 'tiedet make-synthetic' && Array.isArray(m.files) && m.files.every((f) => typeof f === 'string')) return m as Manifest;
  } catch {
    // not ours, or damaged: treated as a foreign file below
  }
  return null;
}

function listFiles(out: string): string[] {
  const files: string[] = [];
  const walk = (rel: string): void => {
    for (const e of readdirSync(join(out, rel), { withFileTypes: true })) {
      const r = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) walk(r);
      else files.push(r);
    }
  };
  walk('');
  return files.sort();
}

/** Refuses folders no dataset should be written into: the file system root, the home folder, the current folder or one of its parents. */
function checkOutputPlace(out: string): void {
  const cwd = resolve('.');
  const home = resolve(homedir());
  const isAncestorOfCwd = cwd === out || cwd.startsWith(out.endsWith(sep) ? out : out + sep);
  if (out === resolve('/') || out === home || isAncestorOfCwd) {
    const what = out === cwd ? 'the current folder' : out === home ? 'the home folder' : isAncestorOfCwd ? 'a parent of the current folder' : 'the root folder';
    throw new SyntheticOutputError(`${out} is ${what}; make-synthetic writes a dataset into a folder of its own — name one, e.g. work_dirs/synthetic-tiny`);
  }
}

/** Creates (or, with overwrite, clears what an earlier run wrote) the output folder; never deletes other files. */
function prepareOutput(out: string, overwrite: boolean, planned: readonly string[]): void {
  checkOutputPlace(out);
  if (existsSync(out) && !statSync(out).isDirectory()) throw new SyntheticOutputError(`${out}: exists and is not a folder`);
  const manifest = existsSync(out) ? readManifest(out) : null;
  if (manifest) {
    if (!overwrite) {
      throw new SyntheticOutputError(`${out} already holds a dataset (written by make-synthetic); pass --overwrite to replace it, or choose another folder`);
    }
    const ours = new Set([...manifest.files, MANIFEST_FILE]);
    const foreign = listFiles(out).filter((f) => !ours.has(f));
    if (foreign.length > 0) {
      throw new SyntheticOutputError(
        `${out}: --overwrite refused: the folder holds ${foreign.length} file(s) make-synthetic did not write ` +
          `(${foreign.slice(0, 5).join(', ')}${foreign.length > 5 ? ', …' : ''}); move them away or choose another folder`,
      );
    }
    try {
      for (const f of manifest.files) rmSync(join(out, f), { force: true });
      for (const d of ['annotations', 'train', 'val']) {
        const dir = join(out, d);
        if (existsSync(dir) && readdirSync(dir).length === 0) rmdirSync(dir);
      }
    } catch (err) {
      throw new SyntheticOutputError(`cannot remove the earlier dataset in ${out}: ${fsReason(err)}`);
    }
  } else {
    const present = existsSync(out) ? DATASET_ENTRIES.filter((e) => existsSync(join(out, e))) : [];
    if (present.length > 0) {
      throw new SyntheticOutputError(
        `${out} already holds ${present.join(', ')}, not written by make-synthetic (no ${MANIFEST_FILE}); ` +
          `${overwrite ? '--overwrite only replaces a dataset make-synthetic wrote — ' : ''}remove them yourself or choose another folder`,
      );
    }
  }
  for (const dir of [out, join(out, 'annotations'), join(out, 'train'), join(out, 'val')]) {
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw new SyntheticOutputError(`cannot create the output folder ${dir}: ${fsReason(err)}`);
    }
  }
  try {
    accessSync(out, constants.W_OK);
  } catch (err) {
    throw new SyntheticOutputError(`cannot write to the output folder ${out}: ${fsReason(err)}`);
  }
  writeManifest(out, planned, false);
}

function writeManifest(out: string, files: readonly string[], complete: boolean): void {
  const m: Manifest = { tool: 'tiedet make-synthetic', complete, files: [...files] };
  writeText(join(out, MANIFEST_FILE), `${JSON.stringify(m, null, 1)}\n`);
}

function writeText(file: string, text: string): void {
  try {
    writeFileSync(file, text);
  } catch (err) {
    throw new SyntheticOutputError(`cannot write ${file}: ${fsReason(err)}`);
  }
}

/** Generates one split: images (written concurrently, at most a few in flight) and the annotation file. */
async function generateSplit(
  config: SyntheticConfig,
  split: SplitName,
  imageDir: string,
  annotationFile: string,
  onProgress?: (p: SyntheticProgress) => void,
): Promise<SplitStats> {
  const gen = new SplitGenerator(config, split);
  const builder = new CocoSplitBuilder(split, config);
  const stats = new SplitStatsAccumulator(split, config.classes.length);
  const pending: Promise<void>[] = [];
  try {
    for (let i = 0; i < gen.count; i++) {
      const scene = gen.render(i);
      const name = gen.fileName(i);
      builder.add(name, scene);
      stats.add(scene);
      const file = join(imageDir, name);
      const write = writeImage(file, scene.image, { format: 'png' }).catch((err: unknown) => {
        throw new SyntheticOutputError(`cannot write ${file}: ${fsReason(err)}`);
      });
      write.catch(() => undefined); // handled when awaited below; never an unhandled rejection meanwhile
      pending.push(write);
      if (pending.length >= MAX_PENDING_WRITES) await pending.shift();
      onProgress?.({ split, done: i + 1, total: gen.count });
    }
    await Promise.all(pending);
  } catch (err) {
    await Promise.allSettled(pending);
    throw err;
  }
  writeText(annotationFile, builder.toJson());
  return stats.result();
}

/**
 * Generates the dataset described by `opts` into `opts.out` (see the file comment). Throws SyntheticOptionError
 * for a bad option (before touching the disk) and SyntheticOutputError when the folder cannot be written.
 */
export async function generateSynthetic(opts: GenerateSyntheticOptions): Promise<SyntheticResult> {
  const t0 = performance.now();
  const config = resolveConfig(opts);
  if (opts.out.trim() === '') throw new SyntheticOutputError('--out is empty (an unset shell variable?); name the dataset folder');
  const out = resolve(opts.out);
  const planned = ['annotations/instances_train.json', 'annotations/instances_val.json', 'README.md'];
  for (const split of SPLITS) {
    const gen = new SplitGenerator(config, split);
    for (let i = 0; i < gen.count; i++) planned.push(`${split}/${gen.fileName(i)}`);
  }
  planned.sort();
  prepareOutput(out, opts.overwrite ?? false, planned);
  const annotationFiles = {
    train: join(out, 'annotations', 'instances_train.json'),
    val: join(out, 'annotations', 'instances_val.json'),
  };
  const imageDirs = { train: join(out, 'train'), val: join(out, 'val') };
  const stats = {} as Record<SplitName, SplitStats>;
  for (const split of SPLITS) {
    stats[split] = await generateSplit(config, split, imageDirs[split], annotationFiles[split], opts.onProgress);
  }
  const readme = join(out, 'README.md');
  writeText(readme, datasetReadme(config, stats.train, stats.val));
  writeManifest(out, planned, true);
  return { config, out, annotationFiles, imageDirs, readme, stats, seconds: (performance.now() - t0) / 1000 };
}

/** Lists the files a generated dataset consists of (relative paths, sorted; not the manifest), for checks and checksums. */
export function datasetFiles(out: string): string[] {
  return listFiles(out).filter((f) => f !== MANIFEST_FILE);
}
