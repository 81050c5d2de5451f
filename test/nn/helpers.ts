/**
 * Shared helpers for the nn / layers / train suites: backend setup, numeric comparison, fixture loading.
 *
 * Backend: wasm with 2 threads unless `TIEDET_BACKEND` says otherwise (e.g. `TIEDET_BACKEND=cpu` to cross-check).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import { initEngine, type BackendRequest, type EngineInfo } from '../../src/engine/index.js';

/** Start the test backend (wasm, 2 threads, unless TIEDET_BACKEND is set). */
export async function setupBackend(): Promise<EngineInfo> {
  const backend = (process.env.TIEDET_BACKEND as BackendRequest | undefined) ?? 'wasm';
  return initEngine({ backend, threads: 2 });
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

// ---- PyTorch fixtures (test/fixtures/layers, written by tools/fixtures/tied_layers.py) ----

export interface FixtureTensorRef {
  shape: number[];
  offset: number;
  length: number;
}

export interface LayerFixtureCase {
  name: string;
  layer: 'tbc' | 'tfc' | 'tiedse' | 'tiedgcb';
  config: Record<string, number | boolean>;
  params: string[];
  tensors: Record<string, FixtureTensorRef>;
}

export interface LayerFixtures {
  cases: LayerFixtureCase[];
  /** A new tensor (caller disposes) for `key` of `fixtureCase`. */
  tensor(fixtureCase: LayerFixtureCase, key: string): tf.Tensor;
}

const FIXTURE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'layers');

export function loadLayerFixtures(): LayerFixtures {
  const manifest = JSON.parse(readFileSync(join(FIXTURE_DIR, 'tied_layers.json'), 'utf8')) as {
    data: string;
    elements: number;
    cases: LayerFixtureCase[];
  };
  const buf = readFileSync(join(FIXTURE_DIR, manifest.data));
  if (buf.byteLength !== manifest.elements * 4) {
    throw new Error(`tied_layers fixture: ${manifest.data} has ${buf.byteLength} bytes, manifest says ${manifest.elements} floats`);
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

/** A trainable variable holding `values` (no stray initial tensor left behind). */
export function variableOf(values: Float32Array | number[], shape: number[]): tf.Variable {
  const init = tf.tensor(values, shape, 'float32');
  const v = tf.variable(init);
  init.dispose();
  return v;
}
