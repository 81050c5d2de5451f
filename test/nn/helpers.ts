/**
 * Shared helpers for the nn / layers / train suites: backend setup, numeric comparison, fixture loading.
 *
 * Backend: wasm with 2 threads unless `TIEDET_BACKEND` says otherwise (e.g. `TIEDET_BACKEND=cpu` to cross-check).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { initEngine, type BackendRequest, type EngineInfo } from '../../src/engine/index.js';

/** Start the test backend (wasm, 2 threads, unless TIEDET_BACKEND is set). */
export async function setupBackend(): Promise<EngineInfo> {
  const backend = (process.env.TIEDET_BACKEND as BackendRequest | undefined) ?? 'wasm';
  return initEngine({ backend, threads: 2 });
}

/**
 * Start the test backend before the file's tests, and fail if the tensor count differs from its value then: after
 * every test (`per: 'test'`, naming the test) or once after the whole file (`per: 'file'`).
 */
export function trackTensors(per: 'test' | 'file'): void {
  let baseline = 0;
  beforeAll(async () => {
    await setupBackend();
    baseline = tf.memory().numTensors;
  });
  if (per === 'test') {
    afterEach((ctx) => expect(tf.memory().numTensors, `tensors leaked by "${ctx.task.name}"`).toBe(baseline));
  } else {
    afterAll(() => expect(tf.memory().numTensors).toBe(baseline));
  }
}

/** Build, use, dispose. */
export function withModel<M extends { dispose(): void }, T>(m: M, f: (m: M) => T): T {
  try {
    return f(m);
  } finally {
    m.dispose();
  }
}

export interface Tolerance {
  /** Absolute tolerance; default 1e-5. */
  atol?: number;
  /** Relative tolerance (to |expected|); default 0. An element passes if |a − e| ≤ atol + rtol·|e|. */
  rtol?: number;
}

function toArray(t: tf.Tensor | ArrayLike<number>): Float32Array | number[] {
  if (t instanceof tf.Tensor) return t.dataSync() as Float32Array;
  return Array.from(t);
}

/** Max |a − e| and whether every element is within atol + rtol·|e|. */
export function compare(actual: tf.Tensor | ArrayLike<number>, expected: tf.Tensor | ArrayLike<number>, tol: Tolerance = {}) {
  const a = toArray(actual);
  const e = toArray(expected);
  const atol = tol.atol ?? 1e-5;
  const rtol = tol.rtol ?? 0;
  let maxAbs = 0;
  let worst = -1;
  let ok = a.length === e.length;
  for (let i = 0; i < Math.min(a.length, e.length); i++) {
    const d = Math.abs(a[i]! - e[i]!);
    if (!(d <= atol + rtol * Math.abs(e[i]!))) {
      ok = false;
      if (worst < 0) worst = i;
    }
    if (d > maxAbs || Number.isNaN(d)) maxAbs = Number.isNaN(d) ? NaN : d;
  }
  return { ok, maxAbs, worst, lengthA: a.length, lengthE: e.length, a, e };
}

/** Assert closeness with a readable message (max error, first failing index and values). */
export function expectClose(
  actual: tf.Tensor | ArrayLike<number>,
  expected: tf.Tensor | ArrayLike<number>,
  tol: Tolerance = {},
  label = '',
): void {
  if (actual instanceof tf.Tensor && expected instanceof tf.Tensor) {
    expect(actual.shape, `${label}: shape`).toEqual(expected.shape);
  }
  const r = compare(actual, expected, tol);
  const detail =
    r.lengthA !== r.lengthE
      ? `length ${r.lengthA} vs ${r.lengthE}`
      : `max |diff| ${r.maxAbs.toExponential(3)}; first failure at ${r.worst}: ${r.a[r.worst]} vs ${r.e[r.worst]}`;
  expect(r.ok, `${label}: ${detail} (atol ${tol.atol ?? 1e-5}, rtol ${tol.rtol ?? 0})`).toBe(true);
}

// ---- PyTorch fixtures: a JSON manifest of cases + one little-endian float32 file (tools/fixtures/*.py) ----

export interface FixtureTensorRef {
  shape: number[];
  offset: number;
  length: number;
}

export interface F32FixtureCase {
  name: string;
  tensors: Record<string, FixtureTensorRef>;
}

export interface F32Fixtures<C extends F32FixtureCase> {
  cases: C[];
  /** A new tensor (caller disposes) for `key` of `fixtureCase`. */
  tensor(fixtureCase: C, key: string): tf.Tensor;
}

/** Read `manifestPath` ({ data, elements, cases }) and the float32 file it names (beside it). */
export function loadF32Fixtures<C extends F32FixtureCase>(manifestPath: string): F32Fixtures<C> {
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { data: string; elements: number; cases: C[] };
  const dataPath = join(dirname(manifestPath), manifest.data);
  const buf = readFileSync(dataPath);
  if (buf.byteLength !== manifest.elements * 4) {
    throw new Error(`fixture ${dataPath}: ${buf.byteLength} bytes, ${manifestPath} says ${manifest.elements} floats`);
  }
  const data = new Float32Array(manifest.elements);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let i = 0; i < data.length; i++) data[i] = view.getFloat32(i * 4, true);
  return {
    cases: manifest.cases,
    tensor(c, key) {
      const ref = c.tensors[key];
      if (!ref) throw new Error(`fixture ${c.name}: no tensor "${key}"`);
      return tf.tensor(data.subarray(ref.offset, ref.offset + ref.length), ref.shape, 'float32');
    },
  };
}

export interface LayerFixtureCase extends F32FixtureCase {
  layer: 'tbc' | 'tfc' | 'tiedse' | 'tiedgcb';
  config: Record<string, number | boolean>;
  params: string[];
}

export type LayerFixtures = F32Fixtures<LayerFixtureCase>;

/** test/fixtures/layers, written by tools/fixtures/tied_layers.py. */
export function loadLayerFixtures(): LayerFixtures {
  return loadF32Fixtures<LayerFixtureCase>(join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'layers', 'tied_layers.json'));
}

/** A trainable variable holding `values` (no stray initial tensor left behind). */
export function variableOf(values: Float32Array | number[], shape: number[]): tf.Variable {
  const init = tf.tensor(values, shape, 'float32');
  const v = tf.variable(init);
  init.dispose();
  return v;
}
