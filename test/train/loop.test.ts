/**
 * The training loop on a tiny conv + BN net:
 * - exact resume: stop at iteration k (via the abort signal, the Ctrl-C path) for several k — first iteration,
 *   mid-warm-up, the last warm-up iteration, right after it, an epoch boundary, mid-epoch — resume into a freshly
 *   initialised model, continue: weights, BN buffers, momentum buffers, step count, RNG state, LR sequence and
 *   data order are bit-identical to an uninterrupted run; also with gradient accumulation (uneven last group) and
 *   clipping;
 * - the LR of every iteration equals the schedule formula; logs hold every iteration;
 * - the NaN guard skips an injected NaN step without touching weights or momentum, and stops after K in a row;
 * - keep-last-N, `latest`, save-best; a config-hash mismatch refuses to resume;
 * - the tensor count is flat across iterations.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/nn/rng.js';
import { findLatest, readCheckpointState } from '../../src/train/checkpoint-state.js';
import { train, TrainError, type IterationInfo, type TrainOptions } from '../../src/train/loop.js';
import { lrAt, type LrSchedule } from '../../src/train/lr-schedule.js';
import { NonFiniteError } from '../../src/train/nan-guard.js';
import type { OptimizerType } from '../../src/train/optimizer-state.js';
import type { Optimizer, StepContext } from '../../src/train/types.js';
import { trackTensors } from '../nn/helpers.js';
import { diffSnapshots, snapshot, TinyNet, tinyData, tinyLoss, tinyOptimizer, type TinyBatch } from './tiny.js';

trackTensors('file');

const root = mkdtempSync(join(tmpdir(), 'tiedet-loop-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirCount = 0;
const freshDir = (): string => join(root, `run${dirCount++}`);

/** 20 samples, batch 4 → 5 iterations per epoch; warm-up over iterations 0–3; steps at epochs 1 and 2. */
const SCHEDULE: LrSchedule = { baseLr: 0.1, warmup: { startFactor: 0.001, begin: 0, end: 4 }, milestones: [1, 2], gamma: 0.1, epochs: 3 };

interface RunSpec {
  workDir: string;
  seed: number;
  stopAt?: number;
  resume?: boolean | string;
  accumulate?: number;
  clip?: number;
  poison?: (ctx: StepContext) => boolean;
  extra?: Partial<TrainOptions<TinyBatch>>;
  onIteration?: (i: IterationInfo, net: TinyNet, opt: Optimizer) => void;
  optimizer?: OptimizerType;
}

async function run(spec: RunSpec) {
  const net = new TinyNet(spec.seed);
  const opt = tinyOptimizer(net, spec.optimizer);
  const noise = new Rng(spec.seed * 31 + 5); // a resumed run must get the stream's state from the checkpoint
  const data = tinyData(4);
  const lrs: number[] = [];
  const counts: number[] = [];
  const infos: IterationInfo[] = [];
  const controller = new AbortController();
  try {
    const result = await train({
      model: net,
      lossFn: tinyLoss(net, noise, spec.poison),
      data,
      optimizer: opt,
      schedule: SCHEDULE,
      workDir: spec.workDir,
      resume: spec.resume,
      accumulate: spec.accumulate,
      clipGrad: spec.clip ? { maxNorm: spec.clip } : null,
      logEvery: 1,
      rngs: { noise },
      signal: controller.signal,
      progress: false,
      onIteration: (i) => {
        lrs.push(i.lr);
        infos.push(i);
        counts.push(tf.memory().numTensors);
        spec.onIteration?.(i, net, opt);
        if (i.iteration === spec.stopAt) controller.abort();
      },
      ...spec.extra,
    });
    return { result, snap: snapshot(net, opt), rng: noise.getState(), lrs, counts, infos, served: data.served };
  } finally {
    net.dispose();
    opt.dispose();
  }
}

function readLog(dir: string): Array<Record<string, unknown>> {
  return readFileSync(join(dir, 'log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function expectExactResume(base: Awaited<ReturnType<typeof run>>, stops: number[], spec: Omit<RunSpec, 'workDir' | 'seed'>) {
  for (const k of stops) {
    const workDir = freshDir();
    const first = await run({ ...spec, workDir, seed: 1, stopAt: k });
    expect(first.result.status, `stop at ${k}`).toBe('interrupted');
    expect(first.result.iteration).toBe(k);
    expect(findLatest(workDir)).toBe(join(workDir, `iter_${k}.json`));
    const second = await run({ ...spec, workDir, seed: 2, resume: true });
    expect(second.result.status).toBe('completed');
    expect(second.result.resumedFrom).toBe(join(workDir, `iter_${k}.json`));
    expect(diffSnapshots(base.snap, second.snap), `weights / buffers / momentum after resuming at ${k}`).toEqual([]);
    expect(second.rng, `RNG state after resuming at ${k}`).toEqual(base.rng);
    expect([...first.lrs, ...second.lrs], `LR sequence, stop at ${k}`).toEqual(base.lrs);
    expect([...first.served, ...second.served], `data order, stop at ${k}`).toEqual(base.served);
    const log = readLog(workDir);
    expect(log.filter((r) => r.mode === 'resume').map((r) => r.iter)).toEqual([k]);
  }
}

describe('train loop: exact resume', () => {
  it('stopping at any of several iterations and resuming is bit-identical to an uninterrupted run', async () => {
    const baseDir = freshDir();
    const base = await run({ workDir: baseDir, seed: 1 });
    expect(base.result.status).toBe('completed');
    expect(base.result.iteration).toBe(15);
    // LR of every iteration = the formula (warm-up by iteration, steps by epoch)
    base.lrs.forEach((lr, t) => expect(lr).toBe(lrAt(SCHEDULE, t, Math.floor(t / 5))));
    expect(base.lrs[3]).toBe(0.1); // warm-up end
    expect(base.lrs[5]).toBeCloseTo(0.01, 12); // first step
    // every iteration is logged, with the lr used
    const trainLines = readLog(baseDir).filter((r) => r.mode === 'train');
    expect(trainLines.map((r) => r.iter)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    expect(trainLines.map((r) => r.lr)).toEqual(base.lrs);
    expect(Object.keys(trainLines[0]!)).toEqual(
      expect.arrayContaining(['loss', 'loss_cls', 'loss_reg', 'acc', 'grad_norm', 'time', 'data_time', 'num_tensors', 'num_bytes']),
    );
    // tensor count flat from the first iteration on (momentum buffers exist after it)
    expect(new Set(base.counts).size).toBe(1);
    // 1: first iteration; 2: mid-warm-up; 3: before the last warm-up iteration; 4: right after it;
    // 5: epoch boundary (and a milestone); 7: mid-epoch after the first step
    await expectExactResume(base, [1, 2, 3, 4, 5, 7], {});
  });

  it('with gradient accumulation (uneven last group) and clipping', async () => {
    const spec = { accumulate: 2, clip: 0.5 };
    const base = await run({ ...spec, workDir: freshDir(), seed: 1 });
    expect(base.result.iteration).toBe(9); // 5 micro-batches → 3 updates per epoch
    expect(base.served.length).toBe(60);
    expect(base.infos.some((i) => i.gradNorm > 0.5)).toBe(true); // clipping was active
    expect(new Set(base.counts).size).toBe(1);
    await expectExactResume(base, [2, 3, 4], spec);
  });

  it('with AdamW (moments and per-parameter step counts in the checkpoint)', async () => {
    const spec = { optimizer: 'AdamW' as const };
    const base = await run({ ...spec, workDir: freshDir(), seed: 1 });
    expect(base.result.status).toBe('completed');
    expect(new Set(base.counts).size).toBe(1);
    const st = JSON.parse(base.snap.get('scalars')!.toString()) as { steps: number; paramSteps: Record<string, number> };
    expect(st.steps).toBe(15);
    expect(Object.values(st.paramSteps).every((n) => n === 15)).toBe(true);
    await expectExactResume(base, [1, 4, 7], spec);
  });
});

describe('train loop: NaN guard', () => {
  it('skips a step with a NaN loss without touching weights, BN statistics or momentum, then continues', async () => {
    const seen = new Map<number, Map<string, Buffer>>();
    const r = await run({
      workDir: freshDir(),
      seed: 1,
      poison: (ctx) => ctx.iteration === 2,
      onIteration: (i, net, opt) => {
        if (i.iteration === 2 || i.iteration === 3) seen.set(i.iteration, snapshot(net, opt));
      },
      extra: { checkpoint: { everyEpochs: 0 } },
    });
    expect(r.result.status).toBe('completed');
    expect(r.infos[2]!.skipped).toBe('loss_cls = NaN');
    expect(r.infos.filter((i) => i.skipped).length).toBe(1);
    expect(diffSnapshots(seen.get(2)!, seen.get(3)!)).toEqual([]);
    const nanLines = readLog(r.result.logFile.replace(/\/log\.jsonl$/, '')).filter((l) => l.mode === 'nan');
    expect(nanLines).toEqual([{ mode: 'nan', iter: 3, epoch: 1, reason: 'loss_cls = NaN', consecutive: 1 }]);
  });

  it('stops after K consecutive bad steps with the message', async () => {
    const workDir = freshDir();
    const err = await run({ workDir, seed: 1, poison: (ctx) => ctx.iteration >= 4, extra: { nanGuard: { maxConsecutive: 3 } } }).catch((e) => e);
    expect(err).toBeInstanceOf(NonFiniteError);
    expect((err as Error).message).toMatch(/^training stopped: 3 consecutive steps had non-finite losses or gradients \(iterations 5–7; last: loss_cls = NaN\)/);
    const last = readLog(workDir).filter((l) => l.mode === 'nan').pop()!;
    expect(last).toMatchObject({ iter: 7, reason: 'loss_cls = NaN', stopped: true });
  });
});

describe('train loop: checkpoints', () => {
  it('keep-last-N, latest pointer, save-best by an evaluation metric; resuming a finished run does nothing', async () => {
    const workDir = freshDir();
    const scores = [0.5, 0.9, 0.7, 0.95, 0.1];
    let calls = 0;
    const r = await run({
      workDir,
      seed: 1,
      extra: {
        evalEvery: 3,
        evalFn: () => ({ score: scores[calls++]! }),
        checkpoint: { everyEpochs: 0, everyIterations: 2, keepLast: 2, best: { key: 'score' } },
      },
    });
    expect(calls).toBe(5);
    const jsons = readdirSync(workDir).filter((f) => f.endsWith('.json')).sort();
    expect(jsons).toEqual(['best_score_iter_12.json', 'iter_14.json', 'iter_15.json']);
    expect(readdirSync(workDir).filter((f) => f.endsWith('.safetensors')).length).toBe(6);
    expect(readFileSync(join(workDir, 'latest'), 'utf8').trim()).toBe('iter_15.json');
    const final = readCheckpointState(join(workDir, 'iter_15.json'));
    expect(final.best).toEqual({ key: 'score', mode: 'max', value: 0.95, iteration: 12, checkpoint: 'best_score_iter_12.json' });
    expect(final.metrics).toEqual({ score: 0.1 });
    expect(readLog(workDir).filter((l) => l.mode === 'val').map((l) => [l.iter, l.score])).toEqual(scores.map((s, i) => [3 * (i + 1), s]));
    expect(r.result.best?.value).toBe(0.95);
    const again = await run({ workDir, seed: 3, resume: true });
    expect(again.result).toMatchObject({ status: 'completed', iteration: 15 });
    expect(again.infos.length).toBe(0);
    expect(diffSnapshots(again.snap, r.snap)).toEqual([]);
  });

  it('refuses to resume a checkpoint written with another config', async () => {
    const workDir = freshDir();
    const first = await run({ workDir, seed: 1, extra: { configHash: 'aaaa', stopAfter: 2 } });
    expect(first.result.status).toBe('stopped');
    const err = await run({ workDir, seed: 1, resume: true, extra: { configHash: 'bbbb' } }).catch((e) => e);
    expect(err).toBeInstanceOf(TrainError);
    expect((err as Error).message).toMatch(/written with config aaaa, the current config is bbbb/);
    const err2 = await run({ workDir, seed: 1, resume: true, accumulate: 2, extra: { configHash: 'aaaa' } }).catch((e) => e);
    expect((err2 as Error).message).toMatch(/1 micro-batches per update, the run now uses 2/);
  });
});

describe('train loop: Ctrl-C', () => {
  it('SIGINT finishes the step, saves a checkpoint and exits 0; the checkpoint resumes', async () => {
    const workDir = freshDir();
    const script = fileURLToPath(new URL('./sigint-child.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script, workDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let errText = '';
    let signalled = false;
    child.stderr.on('data', (d: Buffer) => (errText += d.toString()));
    const code = await new Promise<number | null>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (!signalled && out.includes('READY')) {
          signalled = true;
          child.kill('SIGINT');
        }
      });
      child.on('exit', (c) => resolve(c));
    });
    expect(code, errText).toBe(0);
    const result = JSON.parse(out.trim().split('\n').pop()!) as { status: string; iteration: number; checkpoint: string };
    expect(result.status).toBe('interrupted');
    expect(result.iteration).toBeGreaterThanOrEqual(3);
    expect(errText).toMatch(/interrupted at iteration \d+; checkpoint/);
    expect(findLatest(workDir)).toBe(result.checkpoint);
    expect(existsSync(result.checkpoint)).toBe(true);
    const resumed = await run({ workDir, seed: 1, resume: true, extra: { stopAfter: result.iteration + 1 } });
    expect(resumed.result).toMatchObject({ status: 'stopped', iteration: result.iteration + 1, resumedFrom: result.checkpoint });
  });
});
