/**
 * Checkpoint files: round trip of weights (incl. int32 BN counter), momentum buffers, optimizer scalars and RNG
 * states; a crash during any of the four writes of a new checkpoint (temporary file half-written, no rename)
 * leaves the previous checkpoint as `findLatest` and loadable; leftover temporary files are cleaned; corrupt
 * files and bad JSON fields are errors naming the file and field; `latest` falls back when missing or stale.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/nn/rng.js';
import {
  CheckpointManager,
  findLatest,
  hashConfig,
  loadCheckpointWeights,
  readCheckpointState,
  resolveCheckpointPath,
  restoreCheckpoint,
  type AtomicWriter,
  type CheckpointContent,
} from '../../src/train/checkpoint-state.js';
import { trackTensors } from '../nn/helpers.js';
import { diffSnapshots, snapshot, TinyNet, tinyOptimizer } from './tiny.js';

trackTensors('test');

const root = mkdtempSync(join(tmpdir(), 'tiedet-ckpt-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = (): string => join(root, `d${n++}`);

function content(iteration: number, rng: Rng): CheckpointContent {
  return {
    iteration,
    epoch: 0,
    iterInEpoch: iteration,
    position: iteration,
    lr: 0.01,
    schedule: null,
    accumulate: 1,
    rng: { noise: rng.getState() },
    nanGuard: { consecutive: 0, skipped: 0, firstBad: -1 },
    best: null,
    metrics: null,
    configHash: hashConfig({ lr: 0.01 }),
    elapsedSeconds: 1.5,
  };
}

/** One SGD step with a fixed gradient of 0.1·(index+1) per parameter; also bumps the BN counter. */
function perturb(net: TinyNet, opt: ReturnType<typeof tinyOptimizer>): void {
  const grads = new Map(net.namedParameters().map(([k, v], i) => [k, tf.fill(v.shape, 0.1 * (i + 1))] as [string, tf.Tensor]));
  opt.step(grads);
  tf.dispose([...grads.values()]);
  tf.tidy(() => void net.bn.forward(tf.ones([2, 3, 3, 4])));
}

/** A writer that crashes on its `at`-th call: half of the temporary file is on disk, no rename happens. */
function crashingWriter(at: number): AtomicWriter {
  let calls = 0;
  return (path, chunks) => {
    calls += 1;
    if (calls === at) {
      const bytes = Buffer.concat(chunks.map((c) => Buffer.from(c)));
      writeFileSync(join(path, '..', `.${basename(path)}.tmp-4242-crash`), bytes.subarray(0, bytes.length >> 1));
      throw new Error('simulated crash before rename');
    }
    // the real atomic writer for the other calls
    return realWriter(path, chunks);
  };
}
let realWriter: AtomicWriter;

describe('checkpoint state', () => {
  it('round-trips weights, buffers, momentum, optimizer scalars and RNG states', () => {
    const dir = freshDir();
    const net = new TinyNet(1);
    const opt = tinyOptimizer(net);
    perturb(net, opt);
    perturb(net, opt);
    const rng = new Rng(5);
    rng.uniform();
    const mgr = new CheckpointManager(dir);
    const path = mgr.save(net, opt, content(2, rng));
    expect(basename(path)).toBe('iter_2.json');
    expect(readFileSync(join(dir, 'latest'), 'utf8')).toBe('iter_2.json\n');
    const st = readCheckpointState(path);
    expect(st).toMatchObject({ iteration: 2, optimizer: { type: 'SGD', momentum: 0.9, weightDecay: 1e-4, steps: 2 }, rng: { noise: rng.getState() } });

    const net2 = new TinyNet(9);
    const opt2 = tinyOptimizer(net2);
    const rng2 = new Rng(77);
    restoreCheckpoint(dir, { model: net2, optimizer: opt2, rngs: { noise: rng2 } });
    expect(diffSnapshots(snapshot(net, opt), snapshot(net2, opt2))).toEqual([]);
    expect(rng2.getState()).toEqual(rng.getState());
    expect(net2.bn.numBatchesTracked.dataSync()[0]).toBe(2);
    // weights alone, by any of the checkpoint's paths
    for (const p of [path, join(dir, 'iter_2.weights.safetensors'), join(dir, 'iter_2')]) {
      const net3 = new TinyNet(3);
      loadCheckpointWeights(net3, p);
      expect(diffSnapshots(snapshot(net), snapshot(net3))).toEqual([]);
      net3.dispose();
    }
    expect(() => restoreCheckpoint(path, { model: net2, rngs: { other: rng2 } })).toThrow(/field "rng": no state for generator\(s\) other/);
    [net, net2].forEach((m) => m.dispose());
    [opt, opt2].forEach((o) => o.dispose());
  });

  it('a crash during any write of a new checkpoint leaves the previous one as latest and loadable', async () => {
    realWriter = (await import('../../src/io/safetensors.js')).writeFileAtomic;
    const names = ['weights', 'optimizer moments', 'JSON state', 'latest pointer'];
    for (let at = 1; at <= 4; at++) {
      const dir = freshDir();
      const net = new TinyNet(1);
      const opt = tinyOptimizer(net);
      const rng = new Rng(1);
      perturb(net, opt);
      const good = new CheckpointManager(dir).save(net, opt, content(1, rng));
      const before = snapshot(net, opt);
      perturb(net, opt);
      expect(() => new CheckpointManager(dir, { writeFile: crashingWriter(at) }).save(net, opt, content(2, rng)), names[at - 1]).toThrow(
        /simulated crash/,
      );
      expect(readdirSync(dir).some((f) => f.includes('.tmp-4242-crash'))).toBe(true);
      expect(findLatest(dir), `crash while writing the ${names[at - 1]}`).toBe(good);
      const net2 = new TinyNet(2);
      const opt2 = tinyOptimizer(net2);
      restoreCheckpoint(findLatest(dir)!, { model: net2, optimizer: opt2 });
      expect(diffSnapshots(before, snapshot(net2, opt2))).toEqual([]);
      // the next run's manager removes the half-written temporary file
      new CheckpointManager(dir);
      expect(readdirSync(dir).some((f) => f.includes('.tmp-'))).toBe(false);
      [net, net2].forEach((m) => m.dispose());
      [opt, opt2].forEach((o) => o.dispose());
    }
  });

  it('`latest` missing or naming an incomplete checkpoint falls back to the newest complete one; keep-last-N', () => {
    const dir = freshDir();
    const net = new TinyNet(1);
    const opt = tinyOptimizer(net);
    const rng = new Rng(1);
    const mgr = new CheckpointManager(dir, { keepLast: 2 });
    for (const it of [1, 2, 3]) mgr.save(net, opt, content(it, rng));
    expect(readdirSync(dir).filter((f) => f.endsWith('.json')).sort()).toEqual(['iter_2.json', 'iter_3.json']);
    rmSync(join(dir, 'latest'));
    expect(findLatest(dir)).toBe(join(dir, 'iter_3.json'));
    rmSync(join(dir, 'iter_3.optim.safetensors'));
    writeFileSync(join(dir, 'latest'), 'iter_3.json\n');
    expect(findLatest(dir)).toBe(join(dir, 'iter_2.json'));
    expect(findLatest(freshDir())).toBeNull();
    expect(() => resolveCheckpointPath(join(dir, 'iter_9.json'))).toThrow(/no checkpoint state iter_9\.json/);
    net.dispose();
    opt.dispose();
  });

  it('corrupt tensor files and bad JSON fields are errors naming the file and field', () => {
    const dir = freshDir();
    const net = new TinyNet(1);
    const opt = tinyOptimizer(net);
    const path = new CheckpointManager(dir).save(net, opt, content(1, new Rng(1)));
    const w = join(dir, 'iter_1.weights.safetensors');
    const bytes = readFileSync(w);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(w, bytes);
    expect(() => loadCheckpointWeights(net, path)).toThrow(/iter_1\.weights\.safetensors: SHA-256 does not match/);
    const json = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    writeFileSync(path, JSON.stringify({ ...json, iteration: -1 }));
    expect(() => readCheckpointState(path)).toThrow(/iter_1\.json: field "iteration": expected a non-negative integer, got -1/);
    writeFileSync(path, JSON.stringify({ ...json, rng: { noise: [1, 2, 3] } }));
    expect(() => readCheckpointState(path)).toThrow(/field "rng\.noise": expected four unsigned 32-bit integers/);
    writeFileSync(path, '{"format": "tiedet-checkpoint", ');
    expect(() => readCheckpointState(path)).toThrow(/iter_1\.json: not a readable JSON checkpoint state/);
    expect(existsSync(w)).toBe(true);
    net.dispose();
    opt.dispose();
  });

  it('hashConfig is independent of key order', () => {
    expect(hashConfig({ a: 1, b: { c: [1, 2], d: 'x' } })).toBe(hashConfig({ b: { d: 'x', c: [1, 2] }, a: 1 }));
    expect(hashConfig({ a: 1 })).not.toBe(hashConfig({ a: 2 }));
    expect(hashConfig({ a: 1 })).toMatch(/^[0-9a-f]{16}$/);
  });
});
