import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { initEngine } from '../../src/engine/index.js';
import { patchWasmBundle } from '../../src/engine/wasm-threads.js';
import { runCli } from '../tools/run-cli.js';

const cores = availableParallelism();

describe('initEngine', () => {
  it('runs wasm with SIMD and one thread per logical core when tfjs-node-gpu is absent', async () => {
    const info = await initEngine({ backend: 'auto', threads: cores });
    expect(info.gpu.loaded).toBe(false);
    expect(info.gpu.reason).toMatch(/tfjs-node-gpu/);
    expect(info.backend).toBe('wasm');
    expect(info.simd).toBe(true);
    expect(info.threads).toBe(cores);
    expect(tf.getBackend()).toBe('wasm');
    expect(info.fallbacks.map((f) => f.backend)).toEqual(['tensorflow', 'webgpu']); // no GPU adapter here (a software one is skipped by auto)
  });

  it('computes the same convolution on multi-threaded wasm as on cpu', async () => {
    await initEngine({ backend: 'wasm', threads: cores });
    const x = tf.tensor4d(Array.from({ length: 2 * 9 * 7 * 5 }, (_, i) => Math.sin(i)), [2, 9, 7, 5]);
    const w = tf.tensor4d(Array.from({ length: 3 * 3 * 5 * 6 }, (_, i) => Math.cos(i)), [3, 3, 5, 6]);
    const onWasm = tf.conv2d(x, w, 2, 'same').arraySync();
    await tf.setBackend('cpu');
    const xc = tf.tensor4d(x.arraySync());
    const wc = tf.tensor4d(w.arraySync());
    const onCpu = tf.conv2d(xc, wc, 2, 'same');
    const ref = onCpu.dataSync();
    const got = new Float32Array(tf.tensor(onWasm).dataSync());
    await tf.setBackend('wasm');
    let maxDiff = 0;
    for (let i = 0; i < ref.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ref[i]! - got[i]!));
    expect(maxDiff).toBeLessThan(1e-4); // float32 sums of 45 terms of magnitude ≤ 1
    tf.dispose([x, w, xc, wc, onCpu]);
  });

  it('refuses to change the wasm thread count once started', async () => {
    await initEngine({ backend: 'wasm', threads: cores });
    await expect(initEngine({ backend: 'wasm', threads: cores + 1 })).rejects.toThrow(/already started with/);
  });

  it('rejects bad thread counts and backend names with a clear message', async () => {
    await expect(initEngine({ threads: 0 })).rejects.toThrow(/must be an integer from 1 to 64/);
    await expect(initEngine({ backend: 'gpu' as never })).rejects.toThrow(/unknown backend "gpu"/);
  });
});

describe('patchWasmBundle', () => {
  it('names the substitution that does not apply instead of silently running single-threaded', () => {
    expect(() => patchWasmBundle('var x = 1;', '/w.cjs', '/m.js', 2)).toThrow(/worker script as a file/);
  });
});

describe('tiedet info (CLI)', () => {
  it('reports wasm with all cores as threads, and exits by itself', () => {
    const r = runCli(['info', '--json']);
    expect(r.stderr).not.toMatch(/Error|at .*\.js:\d+/);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.backend).toBe('wasm');
    expect(info.threads).toBe(cores);
    expect(info.simd).toBe(true);
    expect(info.gpu.loaded).toBe(false);
  });

  it('honours TIEDET_BACKEND and --threads', () => {
    const cpu = runCli(['info', '--json'], { TIEDET_BACKEND: 'cpu' });
    expect(cpu.code).toBe(0);
    expect(JSON.parse(cpu.stdout).backend).toBe('cpu');
    const one = runCli(['info', '--json', '--threads', '1']);
    expect(one.code).toBe(0);
    expect(JSON.parse(one.stdout).threads).toBe(1);
  });

  it('fails with one line and a non-zero exit on bad input', () => {
    const r = runCli(['info', '--threads', '0']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('tiedet: threads (--threads) must be an integer from 1 to 64, got "0"');
    const badChoice = runCli(['info', '--backend', 'foo']);
    expect(badChoice.code).toBe(2); // a usage error: the command handler must not run
    expect(badChoice.stderr).toMatch(/Invalid values:[\s\S]*Given: "foo"/);
    expect(badChoice.stdout).toBe('');
    const unknown = runCli(['nosuchcommand']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command 'nosuchcommand' — `tiedet --help` lists the commands/);
  });
});
