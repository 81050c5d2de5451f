/**
 * Checks a resolved config (after `--cfg-options`) field by field, so that a wrong value stops the run before
 * anything is built, with one line naming the config and the field: `configs/x.ts: train.lr: expected a finite
 * number ≥ 0, got -1`. Mirrors the types of configs/_base.ts (a config file may be plain JS, and `--cfg-options`
 * with a JSON object can replace whole sections).
 */
import type { ConfigData } from './_base.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Rec = Record<string, unknown>;
const isObject = (v: unknown): v is Rec => v !== null && typeof v === 'object' && !Array.isArray(v);
const show = (v: unknown): string => (v === undefined ? 'nothing (missing)' : JSON.stringify(v) ?? String(v));

class Checker {
  constructor(readonly source: string) {}

  fail(field: string, why: string): never {
    throw new ConfigError(`${this.source}: ${field}: ${why}`);
  }

  obj(parent: Rec, key: string, field: string): Rec {
    const v = parent[key];
    if (!isObject(v)) this.fail(field, `expected an object, got ${show(v)}`);
    return v as Rec;
  }

  num(o: Rec, key: string, field: string, { min = -Infinity, int = false, exclusiveMin = false, max = Infinity } = {}): number {
    const v = o[key];
    const bound = exclusiveMin ? `> ${min}` : `≥ ${min}`;
    const want = `${int ? 'an integer' : 'a finite number'}${min > -Infinity ? ` ${bound}` : ''}${max < Infinity ? ` and ≤ ${max}` : ''}`;
    if (typeof v !== 'number' || !Number.isFinite(v) || (int && !Number.isInteger(v)) || v < min || (exclusiveMin && v === min) || v > max) {
      this.fail(field, `expected ${want}, got ${show(v)}`);
    }
    return v as number;
  }

  bool(o: Rec, key: string, field: string): boolean {
    const v = o[key];
    if (typeof v !== 'boolean') this.fail(field, `expected true or false, got ${show(v)}`);
    return v as boolean;
  }

  str(o: Rec, key: string, field: string, { nonEmpty = false, oneOf }: { nonEmpty?: boolean; oneOf?: readonly string[] } = {}): string {
    const v = o[key];
    if (typeof v !== 'string') this.fail(field, `expected a string, got ${show(v)}`);
    if (nonEmpty && (v as string).trim() === '') this.fail(field, 'must not be empty');
    if (oneOf && !oneOf.includes(v as string)) this.fail(field, `expected one of ${oneOf.map((s) => `'${s}'`).join(', ')}, got ${show(v)}`);
    return v as string;
  }

  numArray(o: Rec, key: string, field: string, { length, min = -Infinity, int = false }: { length?: number; min?: number; int?: boolean } = {}): number[] {
    const v = o[key];
    if (!Array.isArray(v) || (length !== undefined && v.length !== length)) {
      this.fail(field, `expected an array of ${length ?? 'any number of'} number(s), got ${show(v)}`);
    }
    (v as unknown[]).forEach((_, i) => this.num(v as unknown as Rec, String(i), `${field}[${i}]`, { min, int }));
    return v as number[];
  }
}

/** Throws `ConfigError` naming `source` and the first bad field. */
/** The largest batch (images per step) a config may ask for: far above what fits in memory on any backend today. */
export const MAX_BATCH = 1024;

export function validateConfigData(cfg: ConfigData, source: string): void {
  const c = new Checker(source);
  const root = cfg as unknown as Rec;
  for (const extra of Object.keys(root)) {
    if (!['numClasses', 'data', 'train', 'test'].includes(extra)) c.fail(extra, `unknown section (a config has model, numClasses, data, train, test)`);
  }
  const nc = root.numClasses;
  if (nc !== undefined && nc !== 'auto' && !(typeof nc === 'number' && Number.isInteger(nc) && nc >= 1 && nc <= 100_000)) {
    c.fail('numClasses', `expected 'auto' (follow the dataset's categories) or an integer from 1 to 100,000, got ${JSON.stringify(nc)}`);
  }
  // data
  const d = c.obj(root, 'data', 'data');
  for (const split of ['train', 'val']) {
    const s = c.obj(d, split, `data.${split}`);
    c.str(s, 'annFile', `data.${split}.annFile`, { nonEmpty: true });
    c.str(s, 'imageDir', `data.${split}.imageDir`, { nonEmpty: true });
  }
  c.numArray(d, 'scale', 'data.scale', { length: 2, min: 1, int: true });
  c.num(d, 'flipProb', 'data.flipProb', { min: 0, max: 1 });
  c.num(d, 'sizeDivisor', 'data.sizeDivisor', { min: 1, max: 1024, int: true });
  c.num(d, 'batchSize', 'data.batchSize', { min: 1, max: MAX_BATCH, int: true });
  c.num(d, 'workers', 'data.workers', { min: 0, max: 256, int: true });
  c.num(d, 'prefetch', 'data.prefetch', { min: 0, max: 1024, int: true });
  c.bool(d, 'filterEmptyGt', 'data.filterEmptyGt');
  c.num(d, 'minSize', 'data.minSize', { min: 0 });
  c.bool(d, 'withMasks', 'data.withMasks');
  c.str(d, 'onBad', 'data.onBad', { oneOf: ['error', 'skip'] });
  c.numArray(d, 'mean', 'data.mean', { length: 3 });
  const std = c.numArray(d, 'std', 'data.std', { length: 3 });
  std.forEach((s, i) => s > 0 || c.fail(`data.std[${i}]`, `expected a number > 0, got ${s}`));

  // train
  const t = c.obj(root, 'train', 'train');
  c.num(t, 'lr', 'train.lr', { min: 0 });
  c.str(t, 'optimizer', 'train.optimizer', { oneOf: ['SGD', 'AdamW'] });
  c.num(t, 'momentum', 'train.momentum', { min: 0, max: 1 });
  c.num(t, 'weightDecay', 'train.weightDecay', { min: 0 });
  const betas = c.numArray(t, 'betas', 'train.betas', { length: 2 });
  betas.forEach((b, i) => (b >= 0 && b < 1) || c.fail(`train.betas[${i}]`, `expected 0 ≤ β < 1, got ${b}`));
  c.num(t, 'eps', 'train.eps', { min: 0 });
  c.num(t, 'epochs', 'train.epochs', { min: 1, int: true });
  const ms = c.numArray(t, 'milestones', 'train.milestones', { min: 0, int: true });
  ms.forEach((m, i) => i > 0 && m < ms[i - 1]! && c.fail(`train.milestones[${i}]`, 'milestones must be non-decreasing'));
  c.num(t, 'gamma', 'train.gamma', { min: 0, exclusiveMin: true });
  c.num(t, 'warmupIters', 'train.warmupIters', { min: 0, int: true });
  c.num(t, 'warmupRatio', 'train.warmupRatio', { min: 0, max: 1 });
  c.bool(t, 'autoScaleLr', 'train.autoScaleLr');
  c.num(t, 'baseBatchSize', 'train.baseBatchSize', { min: 1, int: true });
  c.num(t, 'accumulate', 'train.accumulate', { min: 1, max: 4096, int: true });
  c.num(t, 'clipGrad', 'train.clipGrad', { min: 0 });
  const ck = c.obj(t, 'checkpoint', 'train.checkpoint');
  c.num(ck, 'everyEpochs', 'train.checkpoint.everyEpochs', { min: 0, int: true });
  c.num(ck, 'everyIterations', 'train.checkpoint.everyIterations', { min: 0, int: true });
  c.num(ck, 'keepLast', 'train.checkpoint.keepLast', { min: 1, int: true });
  c.str(ck, 'best', 'train.checkpoint.best');
  c.bool(t, 'validate', 'train.validate');
  c.num(t, 'evalEvery', 'train.evalEvery', { min: 0, int: true });
  c.num(t, 'evalEveryEpochs', 'train.evalEveryEpochs', { min: 1, int: true });
  const metrics = t.evalMetrics;
  if (!Array.isArray(metrics)) c.fail('train.evalMetrics', `expected an array of 'bbox' / 'segm', got ${show(metrics)}`);
  (metrics as unknown[]).forEach((_, i) => c.str(metrics as unknown as Rec, String(i), `train.evalMetrics[${i}]`, { oneOf: ['bbox', 'segm'] }));
  c.num(t, 'logEvery', 'train.logEvery', { min: 1, int: true });
  c.num(t, 'maxNanSteps', 'train.maxNanSteps', { min: 1, int: true });
  c.num(t, 'seed', 'train.seed', { min: 0, max: 2 ** 32 - 1, int: true });
  c.str(t, 'pretrained', 'train.pretrained');

  // test
  const s = c.obj(root, 'test', 'test');
  c.num(s, 'batchSize', 'test.batchSize', { min: 1, max: MAX_BATCH, int: true });
  c.num(s, 'scoreThr', 'test.scoreThr', { min: 0, max: 1 });
  c.num(s, 'nmsIouThr', 'test.nmsIouThr', { min: 0, max: 1 });
  c.num(s, 'maxPerImg', 'test.maxPerImg', { min: 1, max: 100_000, int: true });
}
