/**
 * The TiedBottleneck's split section as one op on wasm (src/backbones/tied-split-convs.ts, SIMD permutations
 * move_blocks / collect_blocks in plumbing.wat):
 *  - the permutations are exact and inverse to each other, and equal the tf.split + reshape / transpose layout;
 *  - a training-mode TiedResNet (batch statistics, stride-2 blocks, splits with B = 1, 2, 4, 4) gives the same loss
 *    and the same gradients for every parameter and the input with the op as with the general path (op off);
 *  - it is taken only where it applies (-S widths and grouped splits keep the general path); no tensor leaks;
 *  - a split wide enough for Winograd runs forward, dx and dW by Winograd, within 5e-5 of the direct kernels.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { TiedResNet } from '../../src/backbones/tied-resnet.js';
import { setTiedSplitConvs, tiedSplitConvs, tiedSplitConvsApplies } from '../../src/backbones/tied-split-convs.js';
import { setWinograd } from '../../src/engine/kernels/winograd-conv.js';
import { collectFromBlocks, moveToBlocks } from '../../src/engine/kernels/tensor-plumbing.js';
import { Rng } from '../../src/nn/rng.js';
import { trackTensors } from '../nn/helpers.js';

trackTensors('test');

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

function maxAbs(a: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(a)).dataSync()[0]!);
}

describe('moveToBlocks / collectFromBlocks', () => {
  it('are exact inverse permutations into the block-major layout of tf.split + transpose', () => {
    const rng = new Rng(1);
    const [n, h, w, s, ws] = [2, 5, 7, 4, 16];
    const blocks = [1, 2, 4, 4];
    const x = tf.tensor4d(Float32Array.from({ length: n * h * w * s * ws }, () => rng.normal()), [n, h, w, s * ws]);
    const parts = moveToBlocks(x, blocks)!;
    expect(parts).not.toBeNull();
    const splits = tf.split(x, s, 3) as tf.Tensor4D[];
    blocks.forEach((B, i) => {
      const want = tf.tidy(() => tf.reshape(tf.transpose(tf.reshape(splits[i]!, [n * h * w, B, ws / B]), [1, 0, 2]), [B * n, h, w, ws / B]));
      expect(parts[i]!.shape).toEqual([B * n, h, w, ws / B]);
      expect(maxDiff(parts[i]!, want)).toBe(0);
      want.dispose();
    });
    const back = collectFromBlocks(parts, n)!;
    expect(maxDiff(back, x)).toBe(0);
    tf.dispose([x, back, ...parts, ...splits]);
  });

  it('decline block widths that are not multiples of 4 (the caller keeps the general path)', () => {
    const x = tf.zeros([1, 4, 4, 72]) as tf.Tensor4D; // 4 splits of 18 (the -S width)
    expect(moveToBlocks(x, [1, 2, 3, 6])).toBeNull();
    x.dispose();
  });
});

describe('the split section op in a training TiedResNet', () => {
  const build = () =>
    new TiedResNet([1, 2, 1, 1], { splits: 4, baseWidth: 16, splitBlocks: [1, 2, 4, 4], expansion: 1 }, { seed: 3, numClasses: null, frozenStages: -1, normEval: false });

  it('same loss and gradients (every parameter and the input) as the general path', () => {
    const rng = new Rng(5);
    const x = tf.tensor4d(Float32Array.from({ length: 2 * 40 * 48 * 3 }, () => rng.normal()), [2, 40, 48, 3]);
    const run = (on: boolean) => {
      setTiedSplitConvs(on);
      const model = build();
      model.train();
      try {
        const vars = model.trainableVariables();
        const { value, grads } = tf.variableGrads(() => {
          const f = model.forward(x);
          return tf.addN([tf.mean(tf.square(f.c2)), tf.mean(tf.mul(f.c3, 0.5)), tf.sum(tf.square(f.c5))]) as tf.Scalar;
        }, vars);
        const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.square(model.forward(t as tf.Tensor4D).c4)))(x);
        return { value, grads, dx };
      } finally {
        model.dispose();
        setTiedSplitConvs(true);
      }
    };
    const fast = run(true);
    const general = run(false);
    expect(Math.abs(fast.value.dataSync()[0]! - general.value.dataSync()[0]!)).toBeLessThanOrEqual(1e-5 * Math.abs(general.value.dataSync()[0]!));
    const names = Object.keys(general.grads);
    expect(Object.keys(fast.grads).length).toBe(names.length);
    // both models are built from the same seed: variables get fresh names, so compare in creation order
    const fastGrads = Object.values(fast.grads);
    Object.values(general.grads).forEach((g, i) => {
      expect(fastGrads[i]!.shape).toEqual(g.shape);
      expect(maxDiff(fastGrads[i]!, g)).toBeLessThanOrEqual(1e-4 * Math.max(maxAbs(g), 1e-6));
    });
    expect(maxDiff(fast.dx, general.dx)).toBeLessThanOrEqual(1e-4 * maxAbs(general.dx));
    tf.dispose([x, fast.value, general.value, fast.dx, general.dx, ...Object.values(fast.grads), ...Object.values(general.grads)]);
  });

  it('a split with ≥ 64 channels per block on ≥ 512 tiles goes through Winograd (forward, dx, dW), within 5e-5', () => {
    const rng = new Rng(9);
    const blocks = [1, 2, 4, 4];
    const [H, W, ws] = [88, 96, 64]; // split 0: one 64-wide block, 22·24 = 528 tiles; the others narrower (direct)
    const weights = blocks.map((b) => tf.tidy(() => tf.variable(tf.tensor4d(Float32Array.from({ length: 9 * (ws / b) ** 2 }, () => rng.normal() * 0.05), [3, 3, ws / b, ws / b]))));
    const convs = weights.map((weight, i) => ({ weight, bias: null, blocks: blocks[i]!, groups: 1, stride: [1, 1] as const, padding: [1, 1] as const, dilation: [1, 1] as const }));
    const x = tf.tensor4d(Float32Array.from({ length: H * W * 4 * ws }, () => rng.normal()), [1, H, W, 4 * ws]);
    const g = tf.tensor4d(Float32Array.from({ length: H * W * 4 * ws }, () => rng.normal()), [1, H, W, 4 * ws]);
    const run = (winograd: boolean) => {
      setWinograd(winograd);
      try {
        const f = (e: tf.Tensor, ...ws_: tf.Tensor[]) => {
          void ws_;
          return tf.sum(tf.mul(tiedSplitConvs(e as tf.Tensor4D, convs)!, g)) as tf.Scalar;
        };
        const y = tiedSplitConvs(x, convs)!;
        const grads = tf.grads(f)([x, ...weights]);
        return { y, grads };
      } finally {
        setWinograd(true);
      }
    };
    const wino = run(true);
    const direct = run(false);
    expect(maxDiff(wino.y, direct.y)).toBeLessThanOrEqual(5e-5 * maxAbs(direct.y));
    expect(maxDiff(wino.y, direct.y)).toBeGreaterThan(0); // split 0 really took Winograd
    wino.grads.forEach((gw, i) => {
      const gd = direct.grads[i]!;
      expect(maxDiff(gw, gd)).toBeLessThanOrEqual(5e-5 * maxAbs(gd));
    });
    expect(maxDiff(wino.grads[1]!, direct.grads[1]!)).toBeGreaterThan(0); // dW of split 0 by Winograd
    expect(maxDiff(wino.grads[2]!, direct.grads[2]!)).toBe(0); // split 1 (32 channels per block): direct both ways
    tf.dispose([x, g, wino.y, direct.y, ...wino.grads, ...direct.grads, ...weights]);
  });

  it('is taken for 4-multiple block widths, not for -S widths or grouped splits', () => {
    const conv = (blocks: number, groups = 1) => ({
      weight: null as unknown as tf.Variable,
      bias: null,
      blocks,
      groups,
      stride: [1, 1] as const,
      padding: [1, 1] as const,
      dilation: [1, 1] as const,
    });
    const e64 = tf.zeros([1, 8, 8, 64]) as tf.Tensor4D;
    const e72 = tf.zeros([1, 8, 8, 72]) as tf.Tensor4D;
    expect(tiedSplitConvsApplies(e64, [conv(1), conv(2), conv(4), conv(4)])).toBe(true);
    expect(tiedSplitConvsApplies(e64, [conv(1), conv(2), conv(4), conv(8)])).toBe(false); // block width 2
    expect(tiedSplitConvsApplies(e72, [conv(1), conv(2), conv(3), conv(6)])).toBe(false); // -S: 18-wide splits
    expect(tiedSplitConvsApplies(e64, [conv(1, 2), conv(2), conv(4), conv(4)])).toBe(false); // TGC
    setTiedSplitConvs(false);
    expect(tiedSplitConvsApplies(e64, [conv(1), conv(2), conv(4), conv(4)])).toBe(false);
    setTiedSplitConvs(true);
    tf.dispose([e64, e72]);
  });

  it('leaves no tensors behind over training steps', () => {
    const model = build();
    model.train();
    const x = tf.randomNormal([2, 64, 64, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
    const counts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const { value, grads } = tf.variableGrads(() => tf.mean(model.forward(x).c5) as tf.Scalar, model.trainableVariables());
      tf.dispose([value, ...Object.values(grads)]);
      counts.push(tf.memory().numTensors);
    }
    expect(counts[2]).toBe(counts[0]);
    x.dispose();
    model.dispose();
  });
});
