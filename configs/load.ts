/**
 * Resolving, loading and recording experiment configs (mmdetection's `Config.fromfile` + `--cfg-options` +
 * the `<work_dir>/<config>.py` dump, for typed TS configs):
 *
 * - `CONFIG` is a path to a .ts / .js file, or the name of a file in configs/ (`retinanet_r50_fpn_2x_coco`, with
 *   or without the extension). An unknown name is an error listing the closest names.
 * - The file is imported (dynamic `import()`); its default export (or `config`) must be an `ExperimentConfig`.
 *   Its data part is copied, `--cfg-options` applied (configs/_options.ts), `--seed` set, and the result validated
 *   field by field (configs/_validate.ts).
 * - Hashes: `modelHash` covers what the weights mean (detector type, its hyper-parameters except the test-time
 *   ones, every state-dict key and shape); `configHash` covers everything that changes the trained weights (the
 *   model hash, the data settings except paths of the val split and worker counts, the optimiser and schedule,
 *   seed). A checkpoint remembers `configHash`; resuming or testing with another config is an error
 *   (src/train/loop.ts; tools/test.ts).
 * - `writeResolvedConfig` writes `<workDir>/config.json`: the config data, the model description, both hashes,
 *   the source file and the overrides, so a run can be reproduced and its checkpoints tested later.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Detector } from '../detectors/detector.js';
import { hashConfig } from '../src/train/checkpoint-state.js';
import type { ConfigData, ExperimentConfig } from './_base.js';
import { CONFIG_DIR, EXTENSIONS, HELPER, listConfigs } from './names.js';
import { applyCfgOptions, CfgOptionError, closestKeys } from './_options.js';
import { ConfigError, validateConfigData } from './_validate.js';

export { ConfigError } from './_validate.js';
export { CfgOptionError } from './_options.js';

export { CONFIG_DIR, listConfigs } from './names.js';

/** The config file `spec` names: an existing path, or a name in configs/. */
export function resolveConfigFile(spec: string, dir = CONFIG_DIR): string {
  if (!spec || !spec.trim()) throw new ConfigError('CONFIG: give a config file or the name of one in configs/');
  const asPath = resolve(spec);
  if (existsSync(asPath)) {
    if (statSync(asPath).isDirectory()) throw new ConfigError(`${spec}: is a folder, not a config file`);
    if (!EXTENSIONS.includes(extname(asPath))) throw new ConfigError(`${spec}: a config is a .ts or .js file, got '${extname(asPath) || 'no extension'}'`);
    return asPath;
  }
  const looksLikePath = spec.includes('/') || spec.includes('\\');
  if (!looksLikePath) {
    const name = basename(spec).replace(/\.(ts|js|mts|mjs)$/, '');
    // Prefer the form that can be imported here: .js when running compiled code, .ts from source (tsx).
    const order = import.meta.url.endsWith('.js') ? ['.js', '.mjs', '.ts', '.mts'] : EXTENSIONS;
    for (const ext of order) {
      const f = join(dir, `${name}${ext}`);
      if (existsSync(f) && !HELPER.test(basename(f))) return f;
    }
    const names = listConfigs(dir);
    const near = closestKeys(name, names, 3);
    throw new ConfigError(
      `CONFIG '${spec}': no such file, and no config of that name in ${dir}` +
        (near.length ? ` — did you mean ${near.join(', ')}?` : ` (available: ${names.join(', ')})`),
    );
  }
  throw new ConfigError(`CONFIG '${spec}': no such file`);
}

/**
 * Imports a config module. A .ts/.mts file is imported as it is when TypeScript runs natively (tsx, the tests);
 * from the compiled CLI, tsx's loader API compiles it on the fly (tsx is a runtime dependency), so `tiedet train
 * my_config.ts` works from any folder.
 */
async function importConfigModule(file: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(file).href;
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (!/\.m?ts$/.test(file) || (code !== 'ERR_UNKNOWN_FILE_EXTENSION' && !/Unknown file extension/.test(String((e as Error).message)))) throw e;
  }
  const { tsImport } = await import('tsx/esm/api');
  return (await tsImport(url, import.meta.url)) as Record<string, unknown>;
}

/**
 * When the CLI runs compiled (dist/configs) and a shipped config's source (configs/NAME.ts) is newer than its
 * compiled copy, the user edited it: load the source (what they expect) and say so.
 */
function newerSource(file: string): string | null {
  if (!file.endsWith('.js') || !file.includes(`${sep}dist${sep}configs${sep}`)) return null;
  const src = join(dirname(file), '..', '..', 'configs', `${basename(file, '.js')}.ts`);
  try {
    return existsSync(src) && statSync(src).mtimeMs > statSync(file).mtimeMs ? src : null;
  } catch {
    return null;
  }
}

export interface LoadConfigOptions {
  /** `a.b=c` overrides, applied in order. */
  cfgOptions?: readonly string[];
  /** Sets `train.seed` (after the overrides). */
  seed?: number;
  /** Folder of shipped configs (tests). */
  dir?: string;
}

export interface LoadedConfig {
  /** Config name (file name without extension). */
  name: string;
  /** Absolute path of the config file. */
  file: string;
  /** The model factory of the file. */
  model: ExperimentConfig['model'];
  /** The resolved data part (overrides applied, validated). */
  data: ConfigData;
  /** The overrides given. */
  cfgOptions: string[];
  /** Things the user should know about how the config was found (printed by the commands). */
  notes: string[];
}

function isConfigLike(v: unknown): v is ExperimentConfig {
  return v !== null && typeof v === 'object' && 'model' in v;
}

/** Imports `spec`, applies overrides and `seed`, validates. Errors are `ConfigError` / `CfgOptionError` (one line). */
export async function loadConfig(spec: string, opts: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const resolved = resolveConfigFile(spec, opts.dir);
  const source = newerSource(resolved);
  const file = source ?? resolved;
  const notes = source ? [`${source} is newer than its compiled copy ${resolved}: using the source (npm run build updates dist/)`] : [];
  const name = basename(file).replace(/\.(ts|js|mts|mjs)$/, '');
  let mod: Record<string, unknown>;
  try {
    mod = await importConfigModule(file);
  } catch (e) {
    const msg = (e as Error).message?.split('\n')[0] ?? String(e);
    throw new ConfigError(`${file}: cannot load the config: ${msg}`);
  }
  let exported = mod.default ?? mod.config;
  // a .ts file outside an ESM package compiles as CommonJS: its ES default export sits one level down
  if (exported !== null && typeof exported === 'object' && !('model' in exported) && 'default' in exported) {
    exported = (exported as { default: unknown }).default;
  }
  if (!isConfigLike(exported)) {
    throw new ConfigError(`${file}: expected a default export { model, data, train, test } (an ExperimentConfig), got ${exported === undefined ? 'no default export' : typeof exported}`);
  }
  if (typeof exported.model !== 'function') {
    throw new ConfigError(`${file}: model: expected a factory function (ctx) => Detector, got ${typeof exported.model}`);
  }
  const { model, ...rest } = exported;
  let data: ConfigData;
  try {
    data = structuredClone({ numClasses: 'auto', ...rest }) as ConfigData;
  } catch (e) {
    throw new ConfigError(`${file}: data, train and test must be plain data (numbers, strings, arrays, objects): ${(e as Error).message}`);
  }
  validateConfigData(data, file);
  const cfgOptions = [...(opts.cfgOptions ?? [])];
  try {
    data = applyCfgOptions(data, cfgOptions, { model: 'the model is a factory in the config file; edit the file (or copy it) to change the architecture' });
  } catch (e) {
    if (e instanceof CfgOptionError) throw e;
    throw new CfgOptionError(`--cfg-options: ${(e as Error).message}`);
  }
  if (opts.seed !== undefined) data.train.seed = opts.seed;
  // `--cfg-options numClasses=8` on an 'auto' config arrives as the string '8'
  if (typeof data.numClasses === 'string' && /^\s*\d+\s*$/.test(data.numClasses)) data.numClasses = Number(data.numClasses);
  validateConfigData(data, cfgOptions.length || opts.seed !== undefined ? `${file} (with the overrides)` : file);
  return { name, file, model, data, cfgOptions, notes };
}

/**
 * The number of classes a run builds its detector with: the config's pinned `numClasses`, or the dataset's category
 * count `datasetClasses` (with `from`, the annotation file, for the error messages).
 */
export function resolveNumClasses(cfg: LoadedConfig, datasetClasses?: number, from?: string): number {
  const pinned = cfg.data.numClasses ?? 'auto';
  if (pinned !== 'auto') {
    if (datasetClasses !== undefined && datasetClasses !== pinned) {
      throw new ConfigError(
        `${cfg.file}: numClasses is ${pinned} but ${from ?? 'the dataset'} has ${datasetClasses} categories; ` +
          `set --cfg-options numClasses=${datasetClasses} (or numClasses=auto to follow the dataset)`,
      );
    }
    return pinned;
  }
  if (datasetClasses === undefined) {
    throw new ConfigError(`${cfg.file}: numClasses is 'auto' (follows the dataset's categories) and no dataset was given; pin it with --cfg-options numClasses=N`);
  }
  return datasetClasses;
}

/** Builds the detector of a loaded config with its seed, test settings and class count (see {@link resolveNumClasses}). */
export function buildModel(cfg: LoadedConfig, datasetClasses?: number, from?: string): Detector {
  const numClasses = resolveNumClasses(cfg, datasetClasses, from);
  return cfg.model({ seed: cfg.data.train.seed, test: { ...cfg.data.test }, numClasses });
}

/** What the weights of a model mean, as plain data. */
export interface ModelDescription {
  type: string;
  numClasses: number;
  parameters: number;
  trainableParameters: number;
  /** The detector's hyper-parameters (its `config`, test-time settings left out), when it has one. */
  config: unknown;
  /** Hash of the state-dict keys and shapes. */
  stateHash: string;
  modelHash: string;
}

function withoutTest(config: unknown): unknown {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) return config ?? null;
  const { test: _test, ...rest } = config as Record<string, unknown>;
  return rest;
}

export function describeModel(model: Detector): ModelDescription {
  const shapes = [...model.stateDict()].map(([k, t]) => [k, t.shape] as const);
  const config = withoutTest((model as unknown as { config?: unknown }).config);
  const type = model.constructor.name;
  const stateHash = hashConfig(shapes);
  return {
    type,
    numClasses: model.numClasses,
    parameters: model.numParameters(),
    trainableParameters: model.numParameters({ trainableOnly: true }),
    config,
    stateHash,
    modelHash: hashConfig({ type, config, stateHash }),
  };
}

/** The parts of a config that change the trained weights (besides the model): see the file comment. */
export function trainingSettings(data: ConfigData): { data: unknown; train: unknown } {
  const { val: _val, workers: _w, prefetch: _p, onBad: _o, ...dataPart } = data.data;
  const {
    logEvery: _l,
    validate: _v,
    evalEvery: _e,
    evalEveryEpochs: _ee,
    evalMetrics: _m,
    checkpoint: _c,
    maxNanSteps: _n,
    ...trainPart
  } = data.train;
  return { data: dataPart, train: trainPart };
}

/** The hash of everything that changes the trained weights (see the file comment). */
export function trainingHash(data: ConfigData, model: ModelDescription): string {
  return hashConfig({ model: model.modelHash, ...trainingSettings(data) });
}

/** Leaf fields that differ between two config data objects, as `path (a → b)`. */
export function diffConfigs(a: unknown, b: unknown, prefix = ''): string[] {
  const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isObj(a) && isObj(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((k) => diffConfigs(a[k], b[k], prefix ? `${prefix}.${k}` : k));
  }
  const sa = JSON.stringify(a);
  const sb = JSON.stringify(b);
  return sa === sb ? [] : [`${prefix || '(root)'} (${sa ?? 'missing'} → ${sb ?? 'missing'})`];
}

export interface ResolvedConfigFile {
  name: string;
  source: string;
  cfgOptions: string[];
  configHash: string;
  modelHash: string;
  model: ModelDescription;
  config: ConfigData;
  written: string;
}

export const RESOLVED_CONFIG = 'config.json';

/** Writes `<workDir>/config.json` (see the file comment); returns its path. */
export function writeResolvedConfig(workDir: string, cfg: LoadedConfig, model: ModelDescription, configHash: string): string {
  mkdirSync(workDir, { recursive: true });
  const rec: ResolvedConfigFile = {
    name: cfg.name,
    source: cfg.file,
    cfgOptions: cfg.cfgOptions,
    configHash,
    modelHash: model.modelHash,
    model,
    config: cfg.data,
    written: new Date().toISOString(),
  };
  const path = join(workDir, RESOLVED_CONFIG);
  writeFileSync(path, `${JSON.stringify(rec, null, 2)}\n`);
  return path;
}

/** The resolved config written next to a checkpoint (in its folder), or null when there is none / it is unreadable. */
export function readResolvedConfig(checkpointDir: string): ResolvedConfigFile | null {
  const path = join(checkpointDir, RESOLVED_CONFIG);
  if (!existsSync(path)) return null;
  try {
    const rec = JSON.parse(readFileSync(path, 'utf8')) as ResolvedConfigFile;
    return typeof rec.modelHash === 'string' && typeof rec.configHash === 'string' ? rec : null;
  } catch {
    return null;
  }
}

/**
 * The class count a model for `weights` should be built with when its config says 'auto' and no dataset is at
 * hand: the work dir's config.json (a tiedet checkpoint or its folder), else the training annotation file's
 * categories, else undefined.
 */
export function classCountFor(cfg: LoadedConfig, weights?: string): number | undefined {
  if (weights && existsSync(weights)) {
    const dir = statSync(weights).isDirectory() ? weights : dirname(weights);
    const saved = readResolvedConfig(dir);
    if (saved) return saved.model.numClasses;
  }
  return categoryCount(cfg.data.data.train.annFile);
}

/** The number of categories of a COCO annotation file, or undefined when it is absent or unreadable. */
export function categoryCount(annFile: string): number | undefined {
  if (!existsSync(annFile)) return undefined;
  try {
    const json = JSON.parse(readFileSync(annFile, 'utf8')) as { categories?: unknown };
    return Array.isArray(json.categories) ? json.categories.length : undefined;
  } catch {
    return undefined;
  }
}

export type { ConfigData, ExperimentConfig };
