/**
 * Stateless building blocks on NHWC tensors with PyTorch argument semantics: conv2d (symmetric integer padding,
 * groups), linear, max pooling, ReLU, global average pooling.
 *
 * Choices, with reasons:
 *  - **Padding** is PyTorch's symmetric integer padding, passed to TF.js as explicit padding
 *    `[[0,0],[ph,ph],[pw,pw],[0,0]]` (no separate pad op, no 'same' asymmetry). Output size
 *    floor((H + 2p − d(k−1) − 1)/s) + 1, as in PyTorch.
 *  - **Bias** is a separate broadcast add after `tf.conv2d`, not `tf.fused.conv2d`: the fused op's gradient is a
 *    customGrad that always computes the input gradient (wasted for the first conv on the image) and saves its
 *    output; the registered Conv2D gradient computes only what the tape needs.
 *  - **Groups** (no grouped conv in TF.js): the input channels and the filter's output channels are split into
 *    G contiguous groups, G convs, concatenated — PyTorch's grouped-conv semantics exactly (weight
 *    [kh, kw, in/G, out], group g maps input channels [g·in/G, (g+1)·in/G) to output channels
 *    [g·out/G, (g+1)·out/G)). The "move blocks into the batch" trick used by tied convs does not apply: the
 *    groups have different filters. (Depthwise convs are not special-cased: TF.js's depthwise gradients are
 *    missing on wasm.)
 *  - **Dilation** works in the forward pass only: TF.js's Conv2D gradient rejects dilation > 1 ("dilation rates
 *    greater than 1 are not yet supported in gradients"), so training through a dilated conv throws.
 *  - **Max pooling** uses TF.js's explicit padding (padded cells never win, as PyTorch's −∞ padding). Caveat:
 *    TF.js 4.22's wasm MaxPoolGrad kernel is wrong when a window's maximum is negative (its gradient is dropped
 *    or misplaced); inputs after a ReLU are fine. Until the engine registers a fixed kernel, do not train through
 *    a max pool of signed values on wasm (e.g. FPN's P6 = max_pool(P5, 1, stride 2): slice instead).
 *  - **Linear** keeps the weight as [in, out] so the forward is an untransposed rank-2 matMul (the only XNNPACK
 *    matMul path on wasm). Its backward is a customGrad that materialises the transposes (xᵀ, Wᵀ) and again uses
 *    untransposed matMuls, instead of TF.js's matMul gradient (transposeA/transposeB flags, a slow naive loop on
 *    wasm).
 */
import * as tf from '@tensorflow/tfjs';
import { winogradShapeApplies } from '../engine/kernels/winograd-conv.js';
import { winogradConv2d } from './winograd-conv-op.js';
import { customOp } from './custom-op.js';

/** A size given once for both spatial dims or as [h, w]. */
export type Pair = number | readonly [number, number];

/** Normalise a `Pair` to [h, w], checking it is an integer ≥ `min`. */
export function pair(value: Pair, what: string, min = 0): [number, number] {
  const p: [number, number] = typeof value === 'number' ? [value, value] : [value[0], value[1]];
  if (!p.every((v) => Number.isInteger(v) && v >= min)) {
    throw new Error(`${what} must be an integer >= ${min} or a pair of them, got ${JSON.stringify(value)}`);
  }
  return p;
}

/** TF.js explicit padding for PyTorch's symmetric padding [ph, pw] ('valid' when zero). */
export function explicitPadding(padding: readonly [number, number]): 'valid' | [[0, 0], [number, number], [number, number], [0, 0]] {
  const [ph, pw] = padding;
  return ph === 0 && pw === 0 ? 'valid' : [[0, 0], [ph, ph], [pw, pw], [0, 0]];
}

/** PyTorch's output size of a conv / pool along one dim. */
export function convOutputSize(size: number, kernel: number, stride: number, padding: number, dilation = 1, ceilMode = false): number {
  const span = size + 2 * padding - dilation * (kernel - 1) - 1;
  let out = (ceilMode ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
  // PyTorch (pooling, ceil_mode): the last window must start inside the input or the left padding.
  if (ceilMode && (out - 1) * stride >= size + padding) out -= 1;
  return out;
}

export interface Conv2dArgs {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
}

/**
 * 2-D convolution, NHWC, PyTorch semantics. `weight` is [kh, kw, in/groups, out]; `bias` (optional) is [out].
 * Gradients: not with dilation > 1 (TF.js limitation, see the file comment).
 */
export function conv2d(x: tf.Tensor4D, weight: tf.Tensor4D, bias: tf.Tensor1D | null, args: Conv2dArgs = {}): tf.Tensor4D {
  const stride = pair(args.stride ?? 1, 'conv2d stride', 1);
  const padding = pair(args.padding ?? 0, 'conv2d padding', 0);
  const dilation = pair(args.dilation ?? 1, 'conv2d dilation', 1);
  const groups = args.groups ?? 1;
  const [, , inPerGroup, out] = weight.shape;
  const inChannels = x.shape[3];
  if (!Number.isInteger(groups) || groups < 1 || inChannels % groups !== 0 || out % groups !== 0) {
    throw new Error(`conv2d: groups=${groups} must divide the input channels (${inChannels}) and output channels (${out})`);
  }
  if (inPerGroup * groups !== inChannels) {
    throw new Error(
      `conv2d: input has ${inChannels} channels but the weight [${weight.shape.join(', ')}] with groups=${groups} ` +
        `expects ${inPerGroup * groups}`,
    );
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== out)) {
    throw new Error(`conv2d: bias must be [${out}], got [${bias.shape.join(', ')}]`);
  }
  if ((stride[0] > 1 || stride[1] > 1) && (dilation[0] > 1 || dilation[1] > 1)) {
    throw new Error('conv2d: TF.js supports stride > 1 or dilation > 1, not both');
  }
  const pad = explicitPadding(padding);
  // wide 3×3 stride-1 convs on large maps: Winograd, differentiable (winograd-conv-op.ts)
  if (groups === 1 && winogradShapeApplies(x, weight, { stride, padding, dilation, groups })) return winogradConv2d(x, weight, bias ?? null);
  return tf.tidy(() => {
    let y: tf.Tensor4D;
    if (groups === 1) {
      y = tf.conv2d(x, weight, stride, pad, 'NHWC', dilation);
    } else {
      const xs = tf.split(x, groups, 3);
      const ws = tf.split(weight, groups, 3);
      y = tf.concat(
        xs.map((xg, g) => tf.conv2d(xg as tf.Tensor4D, ws[g] as tf.Tensor4D, stride, pad, 'NHWC', dilation)),
        3,
      );
    }
    return bias ? tf.add(y, bias) : y;
  });
}

/** x·W with a backward pass made of explicit transposes + untransposed matMuls. */
const matMulUntransposed = customOp<tf.Tensor2D>(([x, w], save) => {
  save([x!, w!]);
  return {
    value: tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D),
    gradFunc: (dy, [xs, ws]) => [
      tf.matMul(dy as tf.Tensor2D, tf.transpose(ws as tf.Tensor2D)),
      tf.matMul(tf.transpose(xs as tf.Tensor2D), dy as tf.Tensor2D),
    ],
  };
});

/**
 * y = x·W (+ b) with x [n, in], W [in, out], b [out] (PyTorch's `F.linear` with the weight pre-transposed).
 * Forward and backward use untransposed rank-2 matMuls only (see the file comment).
 */
export function linear(x: tf.Tensor2D, weight: tf.Tensor2D, bias: tf.Tensor1D | null): tf.Tensor2D {
  if (x.rank !== 2 || weight.rank !== 2 || x.shape[1] !== weight.shape[0]) {
    throw new Error(`linear: input [${x.shape.join(', ')}] does not match weight [${weight.shape.join(', ')}] ([in, out])`);
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== weight.shape[1])) {
    throw new Error(`linear: bias must be [${weight.shape[1]}], got [${bias.shape.join(', ')}]`);
  }
  return tf.tidy(() => {
    const y = matMulUntransposed(x, weight);
    return bias ? tf.add(y, bias) : y;
  });
}

export interface MaxPool2dArgs {
  kernelSize: Pair;
  /** Default: the kernel size (as PyTorch). */
  stride?: Pair;
  padding?: Pair;
  ceilMode?: boolean;
}

/**
 * `F.max_pool2d` on NHWC: padded positions never win (PyTorch pads with −∞), padding must be at most half the
 * kernel (PyTorch's rule). `ceilMode` is supported by padding the bottom/right edge further with −∞, with
 * PyTorch's rule that the last window must start inside the input or the left padding.
 */
export function maxPool2d(x: tf.Tensor4D, args: MaxPool2dArgs): tf.Tensor4D {
  const k = pair(args.kernelSize, 'maxPool2d kernelSize', 1);
  const s = pair(args.stride ?? args.kernelSize, 'maxPool2d stride', 1);
  const p = pair(args.padding ?? 0, 'maxPool2d padding', 0);
  if (p[0] * 2 > k[0] || p[1] * 2 > k[1]) {
    throw new Error(`maxPool2d: padding ${JSON.stringify(p)} must be at most half the kernel size ${JSON.stringify(k)}`);
  }
  const [, h, w] = x.shape;
  const oh = convOutputSize(h, k[0], s[0], p[0], 1, args.ceilMode ?? false);
  const ow = convOutputSize(w, k[1], s[1], p[1], 1, args.ceilMode ?? false);
  // Extra bottom/right padding so that a 'valid'-style computation yields exactly (oh, ow).
  const extraH = Math.max(0, (oh - 1) * s[0] + k[0] - (h + 2 * p[0]));
  const extraW = Math.max(0, (ow - 1) * s[1] + k[1] - (w + 2 * p[1]));
  if (extraH === 0 && extraW === 0) {
    return tf.maxPool(x, k, s, explicitPadding(p));
  }
  return tf.maxPool(x, k, s, [[0, 0], [p[0], p[0] + extraH], [p[1], p[1] + extraW], [0, 0]]);
}

/** ReLU. */
export function relu<T extends tf.Tensor>(x: T): T {
  return tf.relu(x);
}

/** Global average pooling [n, h, w, c] → [n, c] (`AdaptiveAvgPool2d(1)` + flatten). */
export function globalAvgPool(x: tf.Tensor4D): tf.Tensor2D {
  return tf.mean(x, [1, 2]) as tf.Tensor2D;
}
