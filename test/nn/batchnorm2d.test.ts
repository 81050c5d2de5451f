import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { initEngine } from '../../src/engine/index.js';
import { setSimdBatchNorm } from '../../src/engine/kernels/simd-batchnorm.js';
import { BatchNorm2d } from '../../src/nn/batchnorm2d.js';
import { Rng } from '../../src/nn/rng.js';
import { expectClose, setupBackend, trackTensors, variableOf } from './helpers.js';

const N = 2;
const H = 3;
const W = 4;
const C = 3;
const EPS = 1e-5;

/** Per-channel mean and biased/unbiased variance of NHWC data, in float64. */
function channelStats(x: Float32Array, c: number) {
  const m = x.length / c;
  const mean = new Array<number>(c).fill(0);
  const varB = new Array<number>(c).fill(0);
  for (let i = 0; i < x.length; i++) mean[i % c]! += x[i]! / m;
  for (let i = 0; i < x.length; i++) varB[i % c]! += (x[i]! - mean[i % c]!) ** 2 / m;
  return { mean, varB, varU: varB.map((v) => (v * m) / (m - 1)) };
}

function affine(x: Float32Array, c: number, mean: number[], variance: number[], gamma: number[], beta: number[]): number[] {
  return Array.from(x, (v, i) => ((v - mean[i % c]!) / Math.sqrt(variance[i % c]! + EPS)) * gamma[i % c]! + beta[i % c]!);
}

trackTensors('file');

function makeBn(): { bn: BatchNorm2d; gamma: number[]; beta: number[] } {
  const bn = new BatchNorm2d({ numFeatures: C });
  const gamma = [1.5, -0.5, 2];
  const beta = [0.1, 0.2, -0.3];
  const g = tf.tensor(gamma);
  const b = tf.tensor(beta);
  bn.loadStateDict({ weight: g, bias: b }, { strict: false });
  tf.dispose([g, b]);
  return { bn, gamma, beta };
}

describe('BatchNorm2d forward and running statistics', () => {
  it('train mode: batch statistics; running stats with momentum 0.1 and unbiased variance', () => {
    const { bn, gamma, beta } = makeBn();
    const rng = new Rng(1);
    const x1 = rng.uniformArray(N * H * W * C, -2, 3);
    const x2 = rng.uniformArray(N * H * W * C, 0, 5);
    const s1 = channelStats(x1, C);
    const s2 = channelStats(x2, C);
    const t1 = tf.tensor4d(x1, [N, H, W, C]);
    const t2 = tf.tensor4d(x2, [N, H, W, C]);
    tf.tidy(() => expectClose(bn.forward(t1), affine(x1, C, s1.mean, s1.varB, gamma, beta), { atol: 1e-5 }, 'y1'));
    const rm1 = s1.mean.map((m) => 0.1 * m);
    const rv1 = s1.varU.map((v) => 0.9 + 0.1 * v);
    expectClose(bn.runningMean, rm1, { atol: 1e-6 }, 'running_mean 1');
    expectClose(bn.runningVar, rv1, { atol: 1e-5 }, 'running_var 1');
    expect(bn.numBatchesTracked.dataSync()[0]).toBe(1);
    tf.tidy(() => expectClose(bn.forward(t2), affine(x2, C, s2.mean, s2.varB, gamma, beta), { atol: 1e-5 }, 'y2'));
    expectClose(bn.runningMean, rm1.map((r, i) => 0.9 * r + 0.1 * s2.mean[i]!), { atol: 1e-6 }, 'running_mean 2');
    expectClose(bn.runningVar, rv1.map((r, i) => 0.9 * r + 0.1 * s2.varU[i]!), { atol: 1e-5 }, 'running_var 2');
    expect(bn.numBatchesTracked.dataSync()[0]).toBe(2);

    // eval mode: running statistics, no update.
    bn.eval();
    const rm = Array.from(bn.runningMean.dataSync());
    const rv = Array.from(bn.runningVar.dataSync());
    tf.tidy(() => expectClose(bn.forward(t1), affine(x1, C, rm, rv, gamma, beta), { atol: 1e-5 }, 'eval y'));
    expect(Array.from(bn.runningMean.dataSync())).toEqual(rm);
    expect(bn.numBatchesTracked.dataSync()[0]).toBe(2);

    // frozen: running statistics even in train mode, no update.
    bn.train();
    bn.freeze();
    expect(bn.usesBatchStats).toBe(false);
    tf.tidy(() => expectClose(bn.forward(t1), affine(x1, C, rm, rv, gamma, beta), { atol: 1e-5 }, 'frozen y'));
    expect(Array.from(bn.runningVar.dataSync())).toEqual(rv);
    tf.dispose([t1, t2]);
    bn.dispose();
  });

  it('needs more than one value per channel in train mode', () => {
    const bn = new BatchNorm2d({ numFeatures: 2 });
    const x = tf.ones([1, 1, 1, 2]) as tf.Tensor4D;
    expect(() => bn.forward(x)).toThrow(/more than 1 value per channel/);
    bn.eval();
    tf.tidy(() => {
      bn.forward(x);
    });
    const wrong = tf.ones([1, 1, 1, 3]) as tf.Tensor4D;
    expect(() => bn.forward(wrong)).toThrow(/expected \[n, h, w, 2\]/);
    tf.dispose([x, wrong]);
    bn.dispose();
  });
});

/** The naive formula through TF.js autodiff (moments + arithmetic). */
function naiveBn(x: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor, stats?: { mean: tf.Tensor; variance: tf.Tensor }): tf.Tensor4D {
  const { mean, variance } = stats ?? tf.moments(x, [0, 1, 2]);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, EPS))), gamma), beta) as tf.Tensor4D;
}

function gradsOf(f: () => tf.Tensor, vars: tf.Variable[]): tf.Tensor[] {
  const { value, grads } = tf.variableGrads(f as () => tf.Scalar, vars);
  value.dispose();
  return vars.map((v) => grads[v.name]!);
}

describe('BatchNorm2d custom gradients equal autodiff of the naive formula', () => {
  for (const backend of ['cpu', 'test backend'] as const) {
    it(`train, eval and frozen modes (${backend})`, async () => {
      if (backend === 'cpu') await initEngine({ backend: 'cpu' });
      else await setupBackend();
      const before = tf.memory().numTensors;
      const rng = new Rng(2);
      const shape: [number, number, number, number] = [2, 5, 3, 4];
      const size = 2 * 5 * 3 * 4;
      const bn = new BatchNorm2d({ numFeatures: 4 });
      const gamma0 = tf.tensor(rng.uniformArray(4, 0.5, 2));
      const beta0 = tf.tensor(rng.uniformArray(4, -1, 1));
      const rm0 = tf.tensor(rng.uniformArray(4, -0.5, 0.5));
      const rv0 = tf.tensor(rng.uniformArray(4, 0.5, 2));
      bn.loadStateDict({ weight: gamma0, bias: beta0, running_mean: rm0, running_var: rv0 }, { strict: false });
      const x = variableOf(rng.uniformArray(size, -3, 5), shape);
      const g = tf.tensor(rng.normalArray(size), shape);
      const gamma = variableOf(Array.from(gamma0.dataSync()), [4]);
      const beta = variableOf(Array.from(beta0.dataSync()), [4]);
      const vars = [x, bn.weight, bn.bias];
      const refVars = [x, gamma, beta];
      const loss = (y: tf.Tensor) => tf.sum(tf.mul(y, g));

      // train mode (batch statistics)
      const a = gradsOf(() => loss(bn.forward(x as tf.Tensor4D)), vars);
      const b = gradsOf(() => loss(naiveBn(x as tf.Tensor4D, gamma, beta)), refVars);
      a.forEach((t, i) => expectClose(t, b[i]!, { atol: 1e-4, rtol: 1e-4 }, `train grad ${i}`));

      // eval mode (running statistics)
      bn.eval();
      const rmNow = tf.clone(bn.runningMean);
      const rvNow = tf.clone(bn.runningVar);
      const c = gradsOf(() => loss(bn.forward(x as tf.Tensor4D)), vars);
      const d = gradsOf(() => loss(naiveBn(x as tf.Tensor4D, gamma, beta, { mean: rmNow, variance: rvNow })), refVars);
      c.forEach((t, i) => expectClose(t, d[i]!, { atol: 1e-4, rtol: 1e-4 }, `eval grad ${i}`));

      // frozen: only x has a gradient, the same as in eval mode
      bn.train();
      bn.freeze();
      const e = gradsOf(() => loss(bn.forward(x as tf.Tensor4D)), [x]);
      expectClose(e[0]!, d[0]!, { atol: 1e-4, rtol: 1e-4 }, 'frozen dx');
      expect(bn.trainableVariables()).toEqual([]);

      tf.dispose([...a, ...b, ...c, ...d, ...e, rmNow, rvNow, x, g, gamma, beta, gamma0, beta0, rm0, rv0]);
      bn.dispose();
      expect(tf.memory().numTensors).toBe(before);
      await setupBackend();
    });
  }

  it('no tensor leaks across repeated train-mode steps', () => {
    const bn = new BatchNorm2d({ numFeatures: 3 });
    const x = variableOf(new Rng(3).uniformArray(2 * 4 * 4 * 3), [2, 4, 4, 3]);
    const step = () => tf.dispose(gradsOf(() => tf.sum(tf.square(bn.forward(x as tf.Tensor4D))), [x, bn.weight, bn.bias]));
    step();
    const n0 = tf.memory().numTensors;
    for (let i = 0; i < 10; i++) step();
    expect(tf.memory().numTensors).toBe(n0);
    expect(bn.numBatchesTracked.dataSync()[0]).toBe(11);
    x.dispose();
    bn.dispose();
  });
});

/** Train-mode forward and gradients in float64: y, and dx, dγ, dβ of Σ y·g. */
function trainRef(x: Float32Array, g: Float32Array, c: number, gamma: Float32Array, beta: Float32Array) {
  const { mean, varB } = channelStats(x, c);
  const m = x.length / c;
  const inv = varB.map((v) => 1 / Math.sqrt(v + EPS));
  const xhat = Array.from(x, (v, i) => (v - mean[i % c]!) * inv[i % c]!);
  const y = xhat.map((v, i) => v * gamma[i % c]! + beta[i % c]!);
  const dbeta = new Array<number>(c).fill(0);
  const dgamma = new Array<number>(c).fill(0);
  g.forEach((v, i) => {
    dbeta[i % c]! += v;
    dgamma[i % c]! += v * xhat[i]!;
  });
  const dx = Array.from(g, (v, i) => gamma[i % c]! * inv[i % c]! * (v - dbeta[i % c]! / m - (xhat[i]! * dgamma[i % c]!) / m));
  return { y, dx, dgamma, dbeta, mean, varU: varB.map((v) => (v * m) / (m - 1)) };
}

describe('BatchNorm2d train mode with the SIMD passes (wasm, channels a multiple of 4)', () => {
  // P = 3·9·11 = 297 values per channel: four full blocks of 64 rows and a partial one.
  const shape: [number, number, number, number] = [3, 9, 11, 12];
  const C = 12;
  const size = 3 * 9 * 11 * 12;

  async function run(simd: boolean, x: Float32Array, g: Float32Array, gamma: Float32Array, beta: Float32Array) {
    setSimdBatchNorm(simd);
    try {
      const bn = new BatchNorm2d({ numFeatures: C });
      const [g0, b0] = [tf.tensor(gamma), tf.tensor(beta)];
      bn.loadStateDict({ weight: g0, bias: b0 }, { strict: false });
      const xv = variableOf(Array.from(x), shape);
      const gt = tf.tensor(g, shape);
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(bn.forward(xv as tf.Tensor4D), gt)) as tf.Scalar, [xv, bn.weight, bn.bias]);
      let y!: tf.Tensor;
      const prof = await tf.profile(() => {
        y = tf.tidy(() => bn.forward(xv as tf.Tensor4D));
      });
      const out = {
        kernels: prof.kernelNames,
        y: y.dataSync().slice(),
        dx: grads[xv.name]!.dataSync().slice(),
        dgamma: grads[bn.weight.name]!.dataSync().slice(),
        dbeta: grads[bn.bias.name]!.dataSync().slice(),
        runningMean: bn.runningMean.dataSync().slice(),
      };
      tf.dispose([value, ...Object.values(grads), y, xv, gt, g0, b0]);
      bn.dispose();
      return out;
    } finally {
      setSimdBatchNorm(true);
    }
  }

  for (const [label, offset] of [['centred input', 0], ['input with mean 100 (std 1)', 100]] as const) {
    it(`forward, running mean and gradients match float64 (${label}), as the tf-op path does`, async () => {
      await setupBackend();
      const rng = new Rng(11);
      const x = Float32Array.from(rng.normalArray(size), (v) => v + offset);
      const g = Float32Array.from(rng.normalArray(size));
      const gamma = Float32Array.from(rng.uniformArray(C, 0.5, 2));
      const beta = Float32Array.from(rng.uniformArray(C, -1, 1));
      const ref = trainRef(x, g, C, gamma, beta);
      for (const simd of [true, false]) {
        const r = await run(simd, x, g, gamma, beta);
        const tag = simd ? 'simd' : 'tf ops';
        // the SIMD path runs no FusedBatchNorm / Mean kernel; the tf-op path does
        expect(r.kernels.includes('FusedBatchNorm'), `${tag} kernels ${r.kernels.join(' ')}`).toBe(!simd);
        expectClose(r.y, ref.y, { atol: 2e-4 }, `${tag} y`);
        expectClose(r.dx, ref.dx, { atol: 2e-4 }, `${tag} dx`);
        expectClose(r.dgamma, ref.dgamma, { atol: 2e-3, rtol: 1e-4 }, `${tag} dγ`);
        expectClose(r.dbeta, ref.dbeta, { atol: 2e-3, rtol: 1e-4 }, `${tag} dβ`);
        // the second forward (outside the tape) updated the running mean a second time
        expectClose(r.runningMean, ref.mean.map((m) => 0.19 * m), { atol: 1e-3, rtol: 1e-5 }, `${tag} running mean`);
      }
    });
  }

  it('widths that are not a multiple of 4 fall back to the tf ops; no tensor leaks over repeated steps', async () => {
    await setupBackend();
    const before = tf.memory().numTensors;
    for (const c of [6, 8]) {
      const bn = new BatchNorm2d({ numFeatures: c });
      const rng = new Rng(c);
      const xs = rng.normalArray(2 * 5 * 7 * c);
      const x = variableOf(xs, [2, 5, 7, c]);
      const step = () => tf.dispose(gradsOf(() => tf.sum(tf.square(bn.forward(x as tf.Tensor4D))), [x, bn.weight, bn.bias]));
      step();
      const n0 = tf.memory().numTensors;
      for (let i = 0; i < 5; i++) step();
      expect(tf.memory().numTensors).toBe(n0);
      const st = channelStats(Float32Array.from(xs), c);
      tf.tidy(() => expectClose(bn.forward(x as tf.Tensor4D), affine(Float32Array.from(xs), c, st.mean, st.varB, new Array(c).fill(1), new Array(c).fill(0)), { atol: 1e-4 }, `C=${c} y`));
      x.dispose();
      bn.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
