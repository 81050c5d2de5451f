/**
 * Training checkpoints: everything a run needs to continue exactly, written so that a crash at any moment leaves
 * the previous checkpoint loadable (mmengine's CheckpointHook + `resume`, with atomic files).
 *
 * One checkpoint `<stem>` (e.g. `iter_1200`) in the work dir is three files:
 *   <stem>.weights.safetensors  the model's state dict (parameters and buffers, TF.js layout, F32 / I32), through
 *                               src/io/safetensors.ts (`saveTorchWeights` exports PyTorch layout separately);
 *   <stem>.optim.safetensors    the optimizer's moments (SGD momentum buffers by parameter name; AdamW
 *                               `exp_avg/<name>`, `exp_avg_sq/<name>`);
 *   <stem>.json                 the state: iteration, epoch, position in the epoch's data order, lr, schedule,
 *                               optimizer scalars, RNG states, NaN-guard counters, best metric, config hash, and
 *                               the size and SHA-256 of both tensor files.
 * Each file is written atomically (temporary file in the same folder, fsync, rename: `writeFileAtomic`), the JSON
 * last, then the small `latest` pointer (the JSON's file name), then the folder is fsync'ed. So a checkpoint
 * whose JSON exists had both tensor files complete, and a crash before the pointer moves leaves it on the
 * previous checkpoint. Loading verifies sizes and hashes, so a tensor file from another save is never mixed in.
 *
 * `findLatest(workDir)` follows the pointer and falls back to the newest complete checkpoint when the pointer is
 * missing or names an incomplete one. `CheckpointManager` adds keep-last-N (older `iter_*` checkpoints are
 * deleted after a successful save) and save-best (`best_<metric>_iter_<N>`, the previous best deleted).
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { RngState } from '../nn/rng.js';
import { parseSafetensors, serializeSafetensors, writeFileAtomic, type SafetensorsInput } from '../io/safetensors.js';
import type { LrSchedule } from './lr-schedule.js';
import type { NanGuardState } from './nan-guard.js';
import { OPTIMIZER_TYPES, type OptimizerScalarValue, type OptimizerType } from './optimizer-state.js';
import type { Optimizer, Trainable } from './types.js';

export const CHECKPOINT_FORMAT = 'tiedet-checkpoint';
export const CHECKPOINT_VERSION = 1;
/** The pointer file in the work dir: one line, the JSON file name of the latest checkpoint. */
export const LATEST_POINTER = 'latest';

/** Writes `chunks` to `path` atomically (default: `writeFileAtomic`); replaceable to simulate crashes in tests. */
export type AtomicWriter = (path: string, chunks: readonly Uint8Array[]) => void;

/** A tensor file of a checkpoint. */
export interface FileRecord {
  /** File name, relative to the JSON's folder. */
  file: string;
  bytes: number;
  sha256: string;
}

/** The optimizer's scalar state (the moments are in the `.optim.safetensors` file). */
export type OptimizerScalars = { type: OptimizerType } & Record<string, OptimizerScalarValue | OptimizerType>;

/** The best evaluation so far (save-best). */
export interface BestRecord {
  key: string;
  mode: 'max' | 'min';
  value: number;
  /** Completed iterations when it was measured. */
  iteration: number;
  /** JSON file name of the best checkpoint. */
  checkpoint: string;
}

/** What the loop hands to `saveCheckpoint` besides the tensors. */
export interface CheckpointContent {
  /** Completed optimizer updates (iterations) in the whole run. */
  iteration: number;
  /** The epoch to continue in (0-based). */
  epoch: number;
  /** Updates completed within `epoch`. */
  iterInEpoch: number;
  /** Micro-batches of `epoch`'s data order consumed (where the data iterator resumes). */
  position: number;
  /** Learning rate of the last update. */
  lr: number;
  schedule: LrSchedule | null;
  /** Micro-batches per update. */
  accumulate: number;
  rng: Record<string, RngState>;
  nanGuard: NanGuardState;
  best: BestRecord | null;
  /** The last evaluation's metrics. */
  metrics: Record<string, number> | null;
  /** Hash of the resolved config (`hashConfig`), null when unknown. */
  configHash: string | null;
  /** Training time so far, all sessions. */
  elapsedSeconds: number;
}

/** The JSON file of a checkpoint. */
export interface CheckpointState extends CheckpointContent {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  /** ISO time of the save. */
  savedAt: string;
  optimizer: OptimizerScalars;
  files: { weights: FileRecord; optimizer: FileRecord };
}

/** A checkpoint that cannot be used; the message names the file and the field. */
export class CheckpointError extends Error {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = 'CheckpointError';
  }
}

// ---- hashing ------------------------------------------------------------------------------------------------------

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** JSON with object keys sorted at every level (a canonical text for hashing). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return v;
  });
}

/** A short, stable hash of a JSON-serializable config (first 16 hex digits of the SHA-256 of its canonical JSON). */
export function hashConfig(config: unknown): string {
  return sha256(new TextEncoder().encode(canonicalJson(config))).slice(0, 16);
}

// ---- tensors ↔ safetensors ------------------------------------------------------------------------------------------

function toInput(name: string, t: tf.Tensor): SafetensorsInput {
  if (t.dtype === 'float32') return { dtype: 'F32', shape: t.shape, data: t.dataSync() as Float32Array };
  if (t.dtype === 'int32') return { dtype: 'I32', shape: t.shape, data: t.dataSync() as Int32Array };
  throw new Error(`checkpoint: tensor "${name}" has dtype ${t.dtype}; only float32 and int32 are saved`);
}

function tensorFile(entries: Iterable<readonly [string, tf.Tensor]>, kind: string): Uint8Array {
  const inputs: Array<[string, SafetensorsInput]> = [];
  for (const [name, t] of entries) inputs.push([name, toInput(name, t)]);
  return serializeSafetensors(inputs, { format: 'tiedet', layout: 'tfjs', kind });
}

/** Read a tensor file, checking size and hash against its record; returns name → new tensor (caller disposes). */
function readTensorFile(dir: string, rec: FileRecord, jsonPath: string): Map<string, tf.Tensor> {
  const path = join(dir, rec.file);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new CheckpointError(jsonPath, `cannot read ${rec.file}: ${(e as Error).message}`);
  }
  if (bytes.byteLength !== rec.bytes) {
    throw new CheckpointError(path, `has ${bytes.byteLength} bytes, the checkpoint state says ${rec.bytes} (incomplete or from another save)`);
  }
  if (sha256(bytes) !== rec.sha256) {
    throw new CheckpointError(path, 'SHA-256 does not match the checkpoint state (corrupt or from another save)');
  }
  const file = parseSafetensors(bytes, path);
  const out = new Map<string, tf.Tensor>();
  for (const [name, t] of file.tensors) {
    const dtype = t.data instanceof Float32Array ? 'float32' : 'int32';
    out.set(name, tf.tensor(t.data instanceof Uint8Array ? Int32Array.from(t.data) : t.data, t.shape, dtype));
  }
  return out;
}

// ---- writing ------------------------------------------------------------------------------------------------------

/** fsync a folder so that renames in it are durable (best effort: not every file system allows it). */
function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // not supported here; the renames are still atomic
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The three file names of checkpoint `stem`. */
export function checkpointFiles(stem: string): { weights: string; optimizer: string; state: string } {
  return { weights: `${stem}.weights.safetensors`, optimizer: `${stem}.optim.safetensors`, state: `${stem}.json` };
}

/**
 * Write checkpoint `stem` into `dir` (created if needed): weights, optimizer moments, then the JSON state, each
 * atomically. Returns the JSON path. Does not move the `latest` pointer (see `writeLatest`).
 */
export function saveCheckpoint(
  dir: string,
  stem: string,
  model: Trainable,
  optimizer: Optimizer,
  content: CheckpointContent,
  writeFile: AtomicWriter = writeFileAtomic,
): string {
  mkdirSync(dir, { recursive: true });
  const names = checkpointFiles(stem);
  const weightBytes = tensorFile(model.stateDict(), 'weights');
  const opt = optimizer.exportState();
  let optBytes: Uint8Array;
  try {
    optBytes = tensorFile(opt.tensors, `${opt.type.toLowerCase()}-state`);
  } finally {
    tf.dispose([...opt.tensors.values()]);
  }
  const state: CheckpointState = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    savedAt: new Date().toISOString(),
    ...content,
    optimizer: { ...opt.scalars, type: opt.type },
    files: {
      weights: { file: names.weights, bytes: weightBytes.byteLength, sha256: sha256(weightBytes) },
      optimizer: { file: names.optimizer, bytes: optBytes.byteLength, sha256: sha256(optBytes) },
    },
  };
  writeFile(join(dir, names.weights), [weightBytes]);
  writeFile(join(dir, names.optimizer), [optBytes]);
  writeFile(join(dir, names.state), [new TextEncoder().encode(`${JSON.stringify(state, null, 1)}\n`)]);
  fsyncDir(dir);
  return join(dir, names.state);
}

/** Point `latest` in `dir` at the checkpoint whose JSON is `jsonPath` (atomically). */
export function writeLatest(dir: string, jsonPath: string, writeFile: AtomicWriter = writeFileAtomic): void {
  writeFile(join(dir, LATEST_POINTER), [new TextEncoder().encode(`${basename(jsonPath)}\n`)]);
  fsyncDir(dir);
}

// ---- reading ------------------------------------------------------------------------------------------------------

type Json = Record<string, unknown>;

function field<T>(file: string, obj: Json, key: string, ok: (v: unknown) => v is T, what: string, prefix = ''): T {
  const v = obj[key];
  if (!ok(v)) throw new CheckpointError(file, `field "${prefix}${key}": expected ${what}, got ${JSON.stringify(v) ?? 'nothing'}`);
  return v;
}

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
const isString = (v: unknown): v is string => typeof v === 'string';
const isObject = (v: unknown): v is Json => !!v && typeof v === 'object' && !Array.isArray(v);
const isObjectOrNull = (v: unknown): v is Json | null => v === null || isObject(v);
const isStringOrNull = (v: unknown): v is string | null => v === null || typeof v === 'string';
const isRngState = (v: unknown): v is RngState =>
  Array.isArray(v) && v.length === 4 && v.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32);

function fileRecord(file: string, files: Json, key: string): FileRecord {
  const rec = field(file, files, key, isObject, 'an object', 'files.');
  return {
    file: field(file, rec, 'file', isString, 'a file name', `files.${key}.`),
    bytes: field(file, rec, 'bytes', isCount, 'a byte count', `files.${key}.`),
    sha256: field(file, rec, 'sha256', (v): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v), 'a SHA-256 hex digest', `files.${key}.`),
  };
}

/** Read and validate a checkpoint's JSON state (tensor files are not read). Errors name the file and the field. */
export function readCheckpointState(jsonPath: string): CheckpointState {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(jsonPath, 'utf8'));
  } catch (e) {
    throw new CheckpointError(jsonPath, `not a readable JSON checkpoint state: ${(e as Error).message}`);
  }
  if (!isObject(raw)) throw new CheckpointError(jsonPath, 'expected a JSON object');
  const f = jsonPath;
  if (raw.format !== CHECKPOINT_FORMAT) throw new CheckpointError(f, `field "format": expected "${CHECKPOINT_FORMAT}", got ${JSON.stringify(raw.format)}`);
  const version = field(f, raw, 'version', isCount, 'a version number');
  if (version !== CHECKPOINT_VERSION) throw new CheckpointError(f, `field "version": this tiedet reads version ${CHECKPOINT_VERSION}, got ${version}`);
  const opt = field(f, raw, 'optimizer', isObject, 'an object');
  if (!OPTIMIZER_TYPES.includes(opt.type as OptimizerType)) {
    throw new CheckpointError(f, `field "optimizer.type": expected ${OPTIMIZER_TYPES.map((t) => `"${t}"`).join(' or ')}, got ${JSON.stringify(opt.type)}`);
  }
  const ng = field(f, raw, 'nanGuard', isObject, 'an object');
  const rng = field(f, raw, 'rng', isObject, 'an object');
  for (const k of Object.keys(rng)) field(f, rng, k, isRngState, 'four unsigned 32-bit integers', 'rng.');
  const metrics = field(f, raw, 'metrics', isObjectOrNull, 'an object or null');
  if (metrics) for (const k of Object.keys(metrics)) field(f, metrics, k, (v): v is number => typeof v === 'number' || v === null, 'a number', 'metrics.');
  const best = field(f, raw, 'best', isObjectOrNull, 'an object or null');
  const files = field(f, raw, 'files', isObject, 'an object');
  const state: CheckpointState = {
    format: CHECKPOINT_FORMAT,
    version,
    savedAt: field(f, raw, 'savedAt', isString, 'an ISO time'),
    iteration: field(f, raw, 'iteration', isCount, 'a non-negative integer'),
    epoch: field(f, raw, 'epoch', isCount, 'a non-negative integer'),
    iterInEpoch: field(f, raw, 'iterInEpoch', isCount, 'a non-negative integer'),
    position: field(f, raw, 'position', isCount, 'a non-negative integer'),
    lr: field(f, raw, 'lr', isNumber, 'a finite number'),
    schedule: field(f, raw, 'schedule', isObjectOrNull, 'an object or null') as LrSchedule | null,
    accumulate: field(f, raw, 'accumulate', (v): v is number => isCount(v) && v >= 1, 'an integer ≥ 1'),
    rng: rng as Record<string, RngState>,
    nanGuard: {
      consecutive: field(f, ng, 'consecutive', isCount, 'a non-negative integer', 'nanGuard.'),
      skipped: field(f, ng, 'skipped', isCount, 'a non-negative integer', 'nanGuard.'),
      firstBad: field(f, ng, 'firstBad', (v): v is number => Number.isSafeInteger(v) && (v as number) >= -1, 'an integer ≥ −1', 'nanGuard.'),
    },
    best: best
      ? {
          key: field(f, best, 'key', isString, 'a metric name', 'best.'),
          mode: field(f, best, 'mode', (v): v is 'max' | 'min' => v === 'max' || v === 'min', '"max" or "min"', 'best.'),
          value: field(f, best, 'value', isNumber, 'a finite number', 'best.'),
          iteration: field(f, best, 'iteration', isCount, 'a non-negative integer', 'best.'),
          checkpoint: field(f, best, 'checkpoint', isString, 'a file name', 'best.'),
        }
      : null,
    metrics: metrics as Record<string, number> | null,
    configHash: field(f, raw, 'configHash', isStringOrNull, 'a string or null'),
    elapsedSeconds: field(f, raw, 'elapsedSeconds', (v): v is number => isNumber(v) && v >= 0, 'a number ≥ 0'),
    optimizer: optimizerScalars(f, opt),
    files: { weights: fileRecord(f, files, 'weights'), optimizer: fileRecord(f, files, 'optimizer') },
  };
  return state;
}

/** The `optimizer` field of a checkpoint's JSON, checked field by field for its type. */
function optimizerScalars(f: string, opt: Json): OptimizerScalars {
  const num = (k: string) => field(f, opt, k, isNumber, 'a finite number', 'optimizer.');
  const common = { lr: num('lr'), weightDecay: num('weightDecay'), steps: field(f, opt, 'steps', isCount, 'a non-negative integer', 'optimizer.') };
  if (opt.type === 'SGD') {
    return {
      type: 'SGD',
      ...common,
      momentum: num('momentum'),
      dampening: num('dampening'),
      nesterov: field(f, opt, 'nesterov', isBool, 'true or false', 'optimizer.'),
    };
  }
  const paramSteps = field(f, opt, 'paramSteps', isObject, 'an object (parameter name → step count)', 'optimizer.');
  for (const k of Object.keys(paramSteps)) field(f, paramSteps, k, isCount, 'a non-negative integer', 'optimizer.paramSteps.');
  return {
    type: 'AdamW',
    ...common,
    betas: field(f, opt, 'betas', (v): v is number[] => Array.isArray(v) && v.length === 2 && v.every(isNumber), 'two numbers', 'optimizer.'),
    eps: num('eps'),
    paramSteps: paramSteps as Record<string, number>,
  };
}

/** True when the checkpoint's JSON is valid and both tensor files exist with the recorded sizes. */
export function isCompleteCheckpoint(jsonPath: string): boolean {
  try {
    const st = readCheckpointState(jsonPath);
    const dir = dirname(jsonPath);
    return [st.files.weights, st.files.optimizer].every((r) => {
      const p = join(dir, r.file);
      return existsSync(p) && statSync(p).size === r.bytes;
    });
  } catch {
    return false;
  }
}

/** Complete checkpoints in `dir` (JSON paths with their state), oldest first (by save time, then iteration). */
export function listCheckpoints(dir: string): Array<{ path: string; state: CheckpointState }> {
  if (!existsSync(dir)) return [];
  const out: Array<{ path: string; state: CheckpointState }> = [];
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.json') || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (!isCompleteCheckpoint(path)) continue;
    out.push({ path, state: readCheckpointState(path) });
  }
  return out.sort((a, b) => a.state.savedAt.localeCompare(b.state.savedAt) || a.state.iteration - b.state.iteration);
}

/**
 * The JSON path of the checkpoint to resume from in `workDir`: the one `latest` names when it is complete,
 * else the most recently saved complete checkpoint, else null.
 */
export function findLatest(workDir: string): string | null {
  const pointer = join(workDir, LATEST_POINTER);
  if (existsSync(pointer)) {
    const name = readFileSync(pointer, 'utf8').trim();
    const path = join(workDir, name);
    if (name && !name.includes('/') && isCompleteCheckpoint(path)) return path;
  }
  const all = listCheckpoints(workDir);
  return all.length ? all[all.length - 1]!.path : null;
}

/** Resolve what `--resume` was given: a checkpoint JSON, one of its tensor files, its stem, or a work dir. */
export function resolveCheckpointPath(path: string): string {
  if (existsSync(path) && statSync(path).isDirectory()) {
    const found = findLatest(path);
    if (!found) throw new CheckpointError(path, 'no complete checkpoint in this folder');
    return found;
  }
  const stem = path.replace(/\.(weights\.safetensors|optim\.safetensors|json)$/, '');
  const json = `${stem}.json`;
  if (!existsSync(json)) throw new CheckpointError(path, `no checkpoint state ${basename(json)} next to it`);
  return json;
}

export interface RestoreTargets {
  model: Trainable;
  optimizer?: Optimizer;
  /** Generators to restore by name; each must be in the checkpoint. */
  rngs?: Readonly<Record<string, { setState(s: RngState): void }>>;
}

/**
 * Load a checkpoint (JSON path, tensor file, stem or work dir) into the model, the optimizer (moments and step
 * count) and the named generators; returns its state. Sizes and hashes are verified first; the model load is
 * strict (every key, every shape).
 */
export function restoreCheckpoint(path: string, targets: RestoreTargets): CheckpointState {
  const jsonPath = resolveCheckpointPath(path);
  const state = readCheckpointState(jsonPath);
  const dir = dirname(jsonPath);
  if (targets.rngs) {
    const missing = Object.keys(targets.rngs).filter((k) => !(k in state.rng));
    if (missing.length) {
      throw new CheckpointError(jsonPath, `field "rng": no state for generator(s) ${missing.join(', ')} (has: ${Object.keys(state.rng).join(', ') || 'none'})`);
    }
  }
  const weights = readTensorFile(dir, state.files.weights, jsonPath);
  try {
    targets.model.loadStateDict(weights, { strict: true });
  } catch (e) {
    throw new CheckpointError(join(dir, state.files.weights.file), (e as Error).message);
  } finally {
    tf.dispose([...weights.values()]);
  }
  if (targets.optimizer) {
    const moments = readTensorFile(dir, state.files.optimizer, jsonPath);
    try {
      const { type, ...scalars } = state.optimizer;
      targets.optimizer.importState({ type, scalars: scalars as Record<string, OptimizerScalarValue>, tensors: moments });
    } catch (e) {
      throw new CheckpointError(join(dir, state.files.optimizer.file), (e as Error).message);
    } finally {
      tf.dispose([...moments.values()]);
    }
  }
  for (const [name, r] of Object.entries(targets.rngs ?? {})) r.setState(state.rng[name]!);
  return state;
}

/** Load only a checkpoint's weights into `model` (for testing / inference); returns the checkpoint state. */
export function loadCheckpointWeights(model: Trainable, path: string): CheckpointState {
  return restoreCheckpoint(path, { model });
}

// ---- keep-last-N and save-best ------------------------------------------------------------------------------------

export interface CheckpointManagerOptions {
  /** Keep this many most recent `iter_*` checkpoints (default 3; Infinity keeps all). */
  keepLast?: number;
  /** Replaceable atomic writer (tests simulate crashes with it). */
  writeFile?: AtomicWriter;
}

const TEMP_RE = /^\..+\.tmp-\d+-[0-9a-z]+$/;

/** Make a metric name safe for a file name (`coco/bbox_mAP` → `coco_bbox_mAP`). */
export function metricSlug(key: string): string {
  return key.replace(/[^A-Za-z0-9_.-]+/g, '_');
}

/** Periodic checkpoints with keep-last-N, the `latest` pointer, and the best checkpoint by a metric. */
export class CheckpointManager {
  readonly keepLast: number;
  private readonly writeFile: AtomicWriter;

  /** Removes temporary files left in `workDir` by a run that crashed mid-write. */
  constructor(
    readonly workDir: string,
    options: CheckpointManagerOptions = {},
  ) {
    this.keepLast = options.keepLast ?? 3;
    if (!(this.keepLast >= 1)) throw new Error(`CheckpointManager: keepLast must be ≥ 1, got ${this.keepLast}`);
    this.writeFile = options.writeFile ?? writeFileAtomic;
    mkdirSync(workDir, { recursive: true });
    for (const name of readdirSync(workDir)) if (TEMP_RE.test(name)) rmSync(join(workDir, name), { force: true });
  }

  /** Save `iter_<iteration>`, move `latest` to it, delete periodic checkpoints beyond the newest `keepLast`. */
  save(model: Trainable, optimizer: Optimizer, content: CheckpointContent): string {
    const path = saveCheckpoint(this.workDir, `iter_${content.iteration}`, model, optimizer, content, this.writeFile);
    writeLatest(this.workDir, path, this.writeFile);
    this.prune(path);
    return path;
  }

  /** Save the best checkpoint `best_<key>_iter_<N>` and delete the previous best (named by `previous`). */
  saveBest(model: Trainable, optimizer: Optimizer, content: CheckpointContent, key: string, previous: string | null): string {
    const path = saveCheckpoint(this.workDir, `best_${metricSlug(key)}_iter_${content.iteration}`, model, optimizer, content, this.writeFile);
    if (previous && previous !== basename(path)) this.remove(join(this.workDir, previous));
    return path;
  }

  private remove(jsonPath: string): void {
    const stem = basename(jsonPath).replace(/\.json$/, '');
    const names = checkpointFiles(stem);
    // The JSON goes first: without it the tensor files are no longer a checkpoint.
    for (const n of [names.state, names.weights, names.optimizer]) rmSync(join(this.workDir, n), { force: true });
  }

  private prune(keep: string): void {
    if (this.keepLast === Infinity) return;
    const periodic = listCheckpoints(this.workDir).filter((c) => /^iter_\d+\.json$/.test(basename(c.path)));
    const excess = periodic.length - this.keepLast;
    for (const c of periodic.slice(0, Math.max(0, excess))) if (c.path !== keep) this.remove(c.path);
  }
}
