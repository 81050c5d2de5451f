/**
 * Winograd F(4×4, 3×3) convolution (src/engine/kernels/winograd-conv.ts, wasm/winograd.wat):
 *  - the matrices give the exact 3-tap correlation (float64, 1e-12);
 *  - outputs match the direct conv (tf.fused.conv2d on the same backend) within 5e-5 of the output scale for
 *    odd sizes, batches, channel counts, with and without bias / ReLU;
 *  - it is taken only where it should be (no tape, 3×3 stride 1 pad 1, ≥ 64 channels, ≥ 512 tiles, enabled), and
 *    ConvModule's inference path gives the same result with it as without; no tensor leaks;
 *  - the backbones' folded conv + BN (+ ReLU) (`convBn`, src/nn/conv-bn.ts) takes it for a 3×3 stride-1 conv
 *    and matches the unfolded conv → BN → ReLU; a strided conv keeps the direct path;
 *  - the trainable op (src/nn/winograd-conv-op.ts, taken by `conv2d` under a tape too): value and gradients w.r.t.
 *    input, weight and bias match tf.conv2d's within 5e-5 of their scale, with and without bias; no leaks.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../src/engine/index.js';
import { setWinograd, winogradApplies, winogradConv3x3, winogradFilters } from '../../src/engine/kernels/winograd-conv.js';
import { WINOGRAD_AT, WINOGRAD_BT, WINOGRAD_G } from '../../src/engine/kernels/winograd-matrices.js';
import { ConvModule } from '../../src/nn/conv-module.js';
import { BatchNorm2d } from '../../src/nn/batchnorm2d.js';
import { Conv2d } from '../../src/nn/conv2d.js';
import { convBn } from '../../src/nn/conv-bn.js';
import { conv2d } from '../../src/nn/functional.js';
import { setWinogradFilterGrad, winogradConv2d } from '../../src/nn/winograd-conv-op.js';
import { winogradFilterGrad } from '../../src/engine/kernels/winograd-filter-grad.js';
import { conv2dFilterGrad } from '../../src/engine/kernels/conv-filter-grad.js';
import { Rng } from '../../src/nn/rng.js';

function maxAbs(t: tf.Tensor): number {
  const m = tf.tidy(() => tf.max(tf.abs(t)));
  const v = m.dataSync()[0]!;
  m.dispose();
  return v;
}

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  const d = tf.sub(a, b);
  const v = maxAbs(d);
  d.dispose();
  return v;
}

describe('Winograd F(4×4, 3×3)', () => {
  beforeAll(async () => {
    await initEngine({ backend: 'wasm' });
  });
  afterAll(() => setWinograd(true));

  it('the matrices compute the 1-D correlation y_i = Σ_k g_k d_(i+k) exactly', () => {
    const d = [0.3, -1.2, 2.5, 0.7, -0.4, 1.9];
    const g = [0.5, -0.25, 1.5];
    const gg = WINOGRAD_G.map((row) => row.reduce((s, c, k) => s + c * g[k]!, 0));
    const bd = WINOGRAD_BT.map((row) => row.reduce((s, c, k) => s + c * d[k]!, 0));
    const prod = gg.map((v, k) => v * bd[k]!);
    const y = WINOGRAD_AT.map((row) => row.reduce((s, c, k) => s + c * prod[k]!, 0));
    for (let i = 0; i < 4; i++) expect(Math.abs(y[i]! - (g[0]! * d[i]! + g[1]! * d[i + 1]! + g[2]! * d[i + 2]!))).toBeLessThan(1e-12);
  });

  const cases: [number, number, number, number, number, boolean, boolean][] = [
    // N, H, W, C, Cout, bias, relu
    [1, 8, 8, 4, 4, false, false],
    [2, 7, 10, 8, 12, true, true],
    [1, 13, 21, 64, 32, true, false],
    [3, 14, 14, 32, 64, false, true],
    [1, 5, 3, 16, 8, true, true],
  ];
  for (const [N, H, W, C, Co, withBias, relu] of cases) {
    it(`matches the direct conv: [${N}, ${H}, ${W}, ${C}] → ${Co}${withBias ? ' + bias' : ''}${relu ? ', ReLU' : ''}`, () => {
      const rng = new Rng(H * 100 + W);
      const x = tf.tensor4d(Float32Array.from({ length: N * H * W * C }, () => rng.normal()), [N, H, W, C]);
      const w = tf.tensor4d(Float32Array.from({ length: 9 * C * Co }, () => rng.normal() * Math.sqrt(2 / (9 * C))), [3, 3, C, Co]);
      const b = withBias ? tf.tensor1d(Float32Array.from({ length: Co }, () => rng.normal())) : null;
      const before = tf.memory().numTensors;
      const got = winogradConv3x3(x, w, b, relu);
      expect(tf.memory().numTensors).toBe(before + 1);
      const want = tf.fused.conv2d({ x, filter: w, strides: 1, pad: 'same', bias: b ?? undefined, activation: relu ? 'relu' : 'linear' });
      expect(got.shape).toEqual([N, H, W, Co]);
      const scale = maxAbs(want);
      expect(maxDiff(got, want)).toBeLessThanOrEqual(5e-5 * scale);
      // Precomputed filters give the same tensor.
      const fs = winogradFilters(w);
      const again = winogradConv3x3(x, w, b, relu, fs);
      expect(maxDiff(again, got)).toBe(0);
      tf.dispose([x, w, got, want, again, ...fs, ...(b ? [b] : [])]);
    });
  }

  it('is taken only for wide 3×3 stride-1 convs on large maps without a tape', () => {
    const x = tf.zeros([1, 88, 96, 64]) as tf.Tensor4D; // 22 × 24 = 528 tiles
    const w = tf.zeros([3, 3, 64, 64]) as tf.Tensor4D;
    const same = { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 };
    expect(winogradApplies(x, w, same)).toBe(true);
    expect(winogradApplies(x, w, { ...same, stride: [2, 2] })).toBe(false);
    expect(winogradApplies(x, w, { ...same, padding: [0, 0] })).toBe(false);
    expect(winogradApplies(x, w, { ...same, dilation: [2, 2] })).toBe(false);
    expect(winogradApplies(x, w, { ...same, groups: 2 })).toBe(false);
    expect(winogradApplies(tf.zeros([1, 40, 40, 64]) as tf.Tensor4D, w, same)).toBe(false); // 100 tiles
    expect(winogradApplies(tf.zeros([1, 88, 96, 32]) as tf.Tensor4D, tf.zeros([3, 3, 32, 64]) as tf.Tensor4D, same)).toBe(false);
    expect(winogradApplies(x, tf.zeros([1, 1, 64, 64]) as tf.Tensor4D, same)).toBe(false);
    let underTape: boolean | undefined;
    tf.grad((t: tf.Tensor) => {
      underTape = winogradApplies(x, w, same);
      return tf.sum(t);
    })(tf.scalar(1));
    expect(underTape).toBe(false);
    setWinograd(false);
    expect(winogradApplies(x, w, same)).toBe(false);
    setWinograd(true);
  });

  it("ConvModule's inference path: Winograd and direct agree; the tape path is unchanged", () => {
    const m = new ConvModule({ inChannels: 64, outChannels: 64, kernelSize: 3, relu: true, rng: new Rng(3) });
    const rng = new Rng(4);
    const x = tf.tensor4d(Float32Array.from({ length: 88 * 96 * 64 }, () => rng.normal()), [1, 88, 96, 64]);
    const before = tf.memory().numTensors;
    const fast = m.forward(x);
    setWinograd(false);
    const direct = m.forward(x);
    setWinograd(true);
    expect(maxDiff(fast, direct)).toBeLessThanOrEqual(5e-5 * maxAbs(direct));
    expect(maxDiff(fast, direct)).toBeGreaterThan(0); // it really took the Winograd path
    tf.dispose([fast, direct]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(x);
    m.dispose();
  });

  it("the backbones' folded conv + BN takes it for 3×3 stride 1, matching conv → BN → ReLU", () => {
    const rng = new Rng(7);
    const conv = new Conv2d({ inChannels: 64, outChannels: 64, kernelSize: 3, padding: 1, bias: false, rng: new Rng(8) });
    const bn = new BatchNorm2d({ numFeatures: 64 });
    // running statistics and affine parameters far from the identity, so that a wrong fold shows
    tf.tidy(() => {
      bn.runningMean.assign(tf.tensor1d(Float32Array.from({ length: 64 }, () => rng.normal() * 0.5)));
      bn.runningVar.assign(tf.tensor1d(Float32Array.from({ length: 64 }, () => 0.2 + rng.uniform() * 3)));
      (bn.weight as tf.Variable).assign(tf.tensor1d(Float32Array.from({ length: 64 }, () => 0.5 + rng.uniform())));
      (bn.bias as tf.Variable).assign(tf.tensor1d(Float32Array.from({ length: 64 }, () => rng.normal() * 0.3)));
    });
    bn.eval();
    const x = tf.tensor4d(Float32Array.from({ length: 88 * 96 * 64 }, () => rng.normal()), [1, 88, 96, 64]);
    const before = tf.memory().numTensors;
    const fast = convBn(conv, bn, x, true);
    const reference = tf.tidy(() => tf.relu(bn.forward(conv.forward(x))));
    setWinograd(false);
    const direct = convBn(conv, bn, x, true);
    setWinograd(true);
    expect(maxDiff(fast, reference)).toBeLessThanOrEqual(5e-5 * maxAbs(reference));
    expect(maxDiff(direct, reference)).toBeLessThanOrEqual(5e-6 * maxAbs(reference));
    expect(maxDiff(fast, direct)).toBeGreaterThan(0); // it really took the Winograd path
    tf.dispose([fast, reference, direct]);
    expect(tf.memory().numTensors).toBe(before);
    const strided = new Conv2d({ inChannels: 64, outChannels: 64, kernelSize: 3, stride: 2, padding: 1, bias: false, rng: new Rng(9) });
    const a = convBn(strided, bn, x, true);
    setWinograd(false);
    const b = convBn(strided, bn, x, true);
    setWinograd(true);
    expect(maxDiff(a, b)).toBe(0);
    tf.dispose([a, b, x]);
    conv.dispose();
    strided.dispose();
    bn.dispose();
  });

  it('eval mode keeps the folded and transformed filters until a parameter changes; train() and dispose() free them', () => {
    const rng = new Rng(11);
    const base = tf.memory().numTensors;
    const conv = new Conv2d({ inChannels: 64, outChannels: 64, kernelSize: 3, padding: 1, bias: false, rng: new Rng(12) });
    const bn = new BatchNorm2d({ numFeatures: 64 });
    const x = tf.tensor4d(Float32Array.from({ length: 40 * 40 * 64 }, () => rng.normal()), [1, 40, 40, 64]); // 100 tiles
    conv.eval();
    bn.eval();
    const reference = () => tf.tidy(() => tf.relu(bn.forward(conv.forward(x))));
    // 100 tiles: below the per-call threshold (512), above the cached one (64) — Winograd only with kept filters
    const y1 = convBn(conv, bn, x, true);
    const r1 = reference();
    expect(maxDiff(y1, r1)).toBeLessThanOrEqual(5e-5 * maxAbs(r1));
    expect(maxDiff(y1, r1)).toBeGreaterThan(0); // Winograd, not the direct conv
    expect(conv.derived.size).toBe(2 + 36); // folded filter + shift, 36 transformed filters
    const held = tf.memory().numTensors;
    const y2 = convBn(conv, bn, x, true);
    expect(maxDiff(y1, y2)).toBe(0);
    tf.dispose(y2);
    expect(tf.memory().numTensors).toBe(held); // the second call built nothing new
    // a BN statistic changes (a new dataId): rebuilt, and the output follows it
    tf.tidy(() => bn.runningMean.assign(tf.fill([64], 0.7)));
    const y3 = convBn(conv, bn, x, true);
    const r3 = reference();
    expect(maxDiff(y3, r3)).toBeLessThanOrEqual(5e-5 * maxAbs(r3));
    expect(maxDiff(y3, y1)).toBeGreaterThan(1e-3);
    expect(conv.derived.size).toBe(38);
    conv.train();
    expect(conv.derived.size).toBe(0);
    // ConvModule: the same for its conv, keyed by the weight
    const m = new ConvModule({ inChannels: 64, outChannels: 64, kernelSize: 3, relu: true, rng: new Rng(13) });
    m.eval();
    const z1 = m.forward(x);
    expect(m.conv.derived.size).toBe(36);
    tf.tidy(() => m.conv.weight.assign(tf.mul(m.conv.weight, 2)));
    const z2 = m.forward(x);
    const z1x2 = tf.mul(z1, 2);
    expect(maxDiff(z2, z1x2)).toBeLessThanOrEqual(1e-4 * maxAbs(z1));
    tf.dispose([y1, r1, y3, r3, z1, z2, z1x2, x]);
    m.dispose();
    conv.dispose();
    bn.dispose();
    expect(tf.memory().numTensors).toBe(base);
  });

  it('filter gradient by Winograd matches the direct Conv2DBackpropFilter; the switch selects the direct kernel', () => {
    const rng = new Rng(21);
    for (const [N, H, W, C, Co] of [
      [1, 9, 7, 8, 12],
      [2, 17, 22, 64, 36],
    ] as const) {
      const x = tf.tensor4d(Float32Array.from({ length: N * H * W * C }, () => rng.normal()), [N, H, W, C]);
      const dy = tf.tensor4d(Float32Array.from({ length: N * H * W * Co }, () => rng.normal()), [N, H, W, Co]);
      const before = tf.memory().numTensors;
      const want = conv2dFilterGrad(x, dy, [1, 1], [[0, 0], [1, 1], [1, 1], [0, 0]], [3, 3, C, Co]);
      const got = winogradFilterGrad(x, dy);
      expect(got.shape).toEqual([3, 3, C, Co]);
      expect(maxDiff(got, want)).toBeLessThanOrEqual(5e-5 * maxAbs(want));
      expect(maxDiff(got, want)).toBeGreaterThan(0);
      tf.dispose([want, got]);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, dy]);
    }
    // through the op: with the switch off, dW is the direct kernel's
    const x = tf.tensor4d(Float32Array.from({ length: 88 * 96 * 64 }, () => rng.normal()), [1, 88, 96, 64]);
    const w = tf.tensor4d(Float32Array.from({ length: 9 * 64 * 64 }, () => rng.normal() * 0.05), [3, 3, 64, 64]);
    const dW = (on: boolean) => {
      setWinogradFilterGrad(on);
      try {
        return tf.grad((k: tf.Tensor) => tf.sum(tf.square(winogradConv2d(x, k as tf.Tensor4D, null))))(w);
      } finally {
        setWinogradFilterGrad(true);
      }
    };
    const [byWinograd, byDirect] = [dW(true), dW(false)];
    const reference = tf.grad((k: tf.Tensor) => tf.sum(tf.square(winogradConv2d(x, k as tf.Tensor4D, null))))(w);
    expect(maxDiff(byWinograd, reference)).toBe(0);
    expect(maxDiff(byWinograd, byDirect)).toBeGreaterThan(0);
    expect(maxDiff(byWinograd, byDirect)).toBeLessThanOrEqual(5e-5 * maxAbs(byDirect));
    tf.dispose([x, w, byWinograd, byDirect, reference]);
  });

  for (const withBias of [true, false]) {
    it(`trainable op: value and gradients match tf.conv2d's${withBias ? ' (with bias)' : ''}`, () => {
      const rng = new Rng(withBias ? 11 : 12);
      const [N, H, W, C, Co] = [2, 61, 70, 64, 68];
      const x = tf.tensor4d(Float32Array.from({ length: N * H * W * C }, () => rng.normal()), [N, H, W, C]);
      const w = tf.tensor4d(Float32Array.from({ length: 9 * C * Co }, () => rng.normal() * Math.sqrt(2 / (9 * C))), [3, 3, C, Co]);
      const b = withBias ? tf.tensor1d(Float32Array.from({ length: Co }, () => rng.normal())) : null;
      const g = tf.tensor4d(Float32Array.from({ length: N * H * W * Co }, () => rng.normal()), [N, H, W, Co]);
      const before = tf.memory().numTensors;
      // L = Σ y·g, so dL/dy = g
      const loss = (f: (a: tf.Tensor4D, k: tf.Tensor4D, c: tf.Tensor1D | null) => tf.Tensor4D) => (a: tf.Tensor, k: tf.Tensor, c?: tf.Tensor) =>
        tf.sum(tf.mul(f(a as tf.Tensor4D, k as tf.Tensor4D, (c as tf.Tensor1D | undefined) ?? null), g)) as tf.Scalar;
      const direct = (a: tf.Tensor4D, k: tf.Tensor4D, c: tf.Tensor1D | null) =>
        tf.tidy(() => {
          const y = tf.conv2d(a, k, 1, [[0, 0], [1, 1], [1, 1], [0, 0]]);
          return (c ? tf.add(y, c) : y) as tf.Tensor4D;
        });
      const args = b ? [x, w, b] : [x, w];
      const want = tf.grads(loss(direct))(args);
      const got = tf.grads(loss(winogradConv2d))(args);
      const viaConv2d = tf.grads(loss((a, k, c) => conv2d(a, k, c, { padding: 1 })))(args);
      want.forEach((wg, i) => {
        expect(got[i]!.shape).toEqual(wg.shape);
        expect(maxDiff(got[i]!, wg)).toBeLessThanOrEqual(5e-5 * maxAbs(wg));
        expect(maxDiff(viaConv2d[i]!, got[i]!)).toBe(0); // conv2d takes the Winograd op under a tape
      });
      expect(maxDiff(got[0]!, want[0]!)).toBeGreaterThan(0); // dx really went through Winograd
      expect(maxDiff(got[1]!, want[1]!)).toBeGreaterThan(0); // and dW
      const yw = winogradConv2d(x, w, b);
      const yd = direct(x, w, b);
      expect(maxDiff(yw, yd)).toBeLessThanOrEqual(5e-5 * maxAbs(yd));
      tf.dispose([...want, ...got, ...viaConv2d, yw, yd]);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, w, g, ...(b ? [b] : [])]);
    });
  }
});
