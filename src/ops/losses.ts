/**
 * Detection losses on TF.js tensors (differentiable): sigmoid focal loss, L1, smooth L1, softmax cross-entropy with
 * integer labels, binary cross-entropy with logits — with mmdetection's weighting and reduction.
 *
 * Reference behaviour:
 *  - Reduction (mmdet `weight_reduce_loss`): loss ← loss · weight (element-wise; a weight whose shape is a prefix of
 *    the loss shape, e.g. [N] for an [N, C] loss, applies to every trailing element); then 'none' → as is, 'sum' →
 *    Σ, 'mean' → Σ / #elements, or with `avgFactor`: 'mean' → Σ / (avgFactor + ε), ε = float32 eps 2⁻²³ (mmdet 3.x);
 *    `avgFactor` with 'sum' is an error. Default reduction 'mean'.
 *  - `sigmoidFocalLoss`: torchvision.ops.sigmoid_focal_loss = mmdet `py_sigmoid_focal_loss`:
 *    BCE-with-logits(x, t) · (α·t + (1 − α)(1 − t)) · (1 − p_t)^γ, with 1 − p_t = σ(−x)·t + σ(x)·(1 − t); α 0.25,
 *    γ 2; α < 0 disables the α weighting (torchvision). Targets are probabilities of the same shape as the logits
 *    (one-hot for detection: `labelsToOneHot`, where the background label — mmdet's `num_classes`, or any label
 *    outside [0, C) — is an all-zero row).
 *  - `l1Loss`, `smoothL1Loss` (β, default 1; β = 0 is L1, as torch): torch.nn.functional values and gradients, also
 *    at |d| = 0 (gradient 0) and |d| = β.
 *  - `crossEntropyLoss`: F.cross_entropy(logits, labels, reduction='none', ignore_index) then the reduction above:
 *    ignored rows (label = ignoreIndex, default −100) contribute 0 and count in the 'mean' denominator unless
 *    `avgNonIgnore` (mmdet's `avg_non_ignore`), which divides by the number of non-ignored rows (= torch's
 *    'mean'). Optional `classWeight` multiplies each row by the weight of its label (torch `weight=`).
 *  - `binaryCrossEntropyWithLogits`: F.binary_cross_entropy_with_logits(reduction='none') then the reduction.
 * BCE-with-logits is computed as max(x, 0) − x·t + log1p(exp(−|x|)) (no overflow, accurate for large |x|) with an
 * exact custom gradient σ(x) − t; L1 and smooth L1 have custom gradients so that |d| = 0 gives 0 like torch (TF.js's
 * Abs gradient is −1 there). Everything else is plain TF.js autodiff.
 */
import * as tf from '@tensorflow/tfjs';
import { rowRange } from '../engine/kernels/tensor-plumbing.js';
import { customOp } from '../nn/custom-op.js';

export type Reduction = 'none' | 'mean' | 'sum';

export interface ReduceOptions {
  /** Element-wise weight: the loss shape, or a prefix of it (broadcast over the trailing dimensions). */
  weight?: tf.Tensor;
  /** Default 'mean'. */
  reduction?: Reduction;
  /** Divisor for 'mean' (e.g. the number of positives); not allowed with 'sum'. */
  avgFactor?: number;
}

/** float32 machine epsilon, mmdet's guard in Σ / (avgFactor + ε). */
export const FLOAT32_EPS = 2 ** -23;

/** mmdet `weight_reduce_loss` (see the file comment). Does not dispose `loss`. */
export function weightReduceLoss(loss: tf.Tensor, opts: ReduceOptions = {}): tf.Tensor {
  const reduction = opts.reduction ?? 'mean';
  if (reduction !== 'none' && reduction !== 'mean' && reduction !== 'sum') throw new Error(`loss: unknown reduction "${String(reduction)}"`);
  if (opts.avgFactor !== undefined) {
    if (reduction === 'sum') throw new Error('loss: avgFactor can not be used with reduction "sum"');
    if (!Number.isFinite(opts.avgFactor)) throw new Error(`loss: avgFactor must be a finite number, got ${opts.avgFactor}`);
  }
  return tf.tidy(() => {
    let l = loss;
    if (opts.weight) l = tf.mul(l, expandWeight(opts.weight, loss.shape));
    if (reduction === 'none') return opts.weight ? l : tf.clone(l);
    if (reduction === 'sum') return tf.sum(l);
    if (opts.avgFactor !== undefined) return tf.div(tf.sum(l), opts.avgFactor + FLOAT32_EPS);
    return tf.mean(l);
  });
}

function expandWeight(weight: tf.Tensor, shape: number[]): tf.Tensor {
  const ws = weight.shape;
  if (ws.length > shape.length || ws.some((d, i) => d !== shape[i])) {
    throw new Error(`loss: weight shape [${ws.join(', ')}] must equal the loss shape [${shape.join(', ')}] or a prefix of it`);
  }
  return ws.length === shape.length ? weight : tf.reshape(weight, [...ws, ...Array<number>(shape.length - ws.length).fill(1)]);
}

function checkSameShape(a: tf.Tensor, b: tf.Tensor, what: string): void {
  if (!tf.util.arraysEqual(a.shape, b.shape)) {
    throw new Error(`${what}: prediction [${a.shape.join(', ')}] and target [${b.shape.join(', ')}] must have the same shape`);
  }
}

// ---- element-wise kernels with torch's gradients --------------------------------------------------------------------

/** BCE with logits, element-wise: max(x,0) − x·t + log1p(e^−|x|); d/dx = σ(x) − t, d/dt = −x. */
const bceWithLogitsElementwise = customOp<tf.Tensor>(([x, t], save) => {
  save([x!, t!]);
  const value = tf.add(tf.sub(tf.relu(x!), tf.mul(x!, t!)), tf.log1p(tf.exp(tf.neg(tf.abs(x!)))));
  return {
    value,
    gradFunc: (dy, [xs, ts]) => [tf.mul(dy, tf.sub(tf.sigmoid(xs!), ts!)), tf.mul(dy, tf.neg(xs!))],
  };
});

/** |p − t|; d/dp = sign(p − t) (0 at 0), d/dt = −sign(p − t). */
const l1Elementwise = customOp<tf.Tensor>(([p, t], save) => {
  const d = tf.sub(p!, t!);
  save([d]);
  return {
    value: tf.abs(d),
    gradFunc: (dy, [ds]) => {
      const g = tf.mul(dy, tf.sign(ds!));
      return [g, tf.neg(g)];
    },
  };
});

/** Smooth L1 with β > 0: |d| < β ? 0.5·d²/β : |d| − 0.5β; d/dp = |d| < β ? d/β : sign(d). */
function smoothL1Elementwise(beta: number) {
  return customOp<tf.Tensor>(([p, t], save) => {
    const d = tf.sub(p!, t!);
    save([d]);
    const ad = tf.abs(d);
    const small = tf.less(ad, beta);
    return {
      value: tf.where(small, tf.div(tf.mul(tf.square(d), 0.5), beta), tf.sub(ad, 0.5 * beta)),
      gradFunc: (dy, [ds]) => {
        const inner = tf.less(tf.abs(ds!), beta);
        const g = tf.mul(dy, tf.where(inner, tf.div(ds!, beta), tf.sign(ds!)));
        return [g, tf.neg(g)];
      },
    };
  });
}

// ---- losses ----------------------------------------------------------------------------------------------------------

export interface FocalLossOptions extends ReduceOptions {
  /** Default 0.25; < 0 disables the α weighting. */
  alpha?: number;
  /** Default 2. */
  gamma?: number;
}

/** Sigmoid focal loss of `logits` against `targets` (same shape, probabilities; see `labelsToOneHot`). */
export function sigmoidFocalLoss(logits: tf.Tensor, targets: tf.Tensor, opts: FocalLossOptions = {}): tf.Tensor {
  checkSameShape(logits, targets, 'sigmoidFocalLoss');
  const alpha = opts.alpha ?? 0.25;
  const gamma = opts.gamma ?? 2;
  if (!(gamma >= 0)) throw new Error(`sigmoidFocalLoss: gamma must be ≥ 0, got ${gamma}`);
  return tf.tidy(() => {
    const t = targets.dtype === 'float32' ? targets : tf.cast(targets, 'float32');
    return weightReduceLoss(focalElementwise(alpha, gamma)(logits, t), opts);
  });
}

/** q^k for the focal modulator (k = γ or γ − 1), without a pow for the common exponents. */
function powGamma(q: tf.Tensor, k: number): tf.Tensor | null {
  if (k === 0) return null;
  if (k === 1) return q;
  if (k === 2) return tf.square(q);
  return tf.pow(q, k);
}

/**
 * Element-wise α_t·(1 − p_t)^γ·CE(x, t) as ONE op with a closed-form backward, computed in row chunks: under a gradient
 * tape only x and t are kept, and the intermediates are one chunk's (autodiff through the dozen element-wise ops kept
 * each of them whole — at 800×1333 RetinaNet scores 19 M anchor × class pairs, 77 MB per intermediate; a 1333×800
 * training step now fits the wasm heap at 2.9 GiB). With p = σ(x), q = 1 − p_t = (1 − p)·t + p·(1 − t),
 * α_t = α·t + (1 − α)·(1 − t) (1 without α):
 *   dL/dx = α_t·(γ·q^(γ−1)·p(1 − p)(1 − 2t)·CE + q^γ·(p − t))
 *   dL/dt = α'·q^γ·CE + α_t·(γ·q^(γ−1)·(1 − 2p)·CE − q^γ·x),   α' = 2α − 1 (0 without α).
 */
function focalElementwise(alpha: number, gamma: number): (x: tf.Tensor, t: tf.Tensor) => tf.Tensor {
  return customOp<tf.Tensor>(([x, t], save) => {
    save([x!, t!]);
    const parts = (xs: tf.Tensor, ts: tf.Tensor) => {
      const p = tf.sigmoid(xs);
      const ce = tf.add(tf.sub(tf.relu(xs), tf.mul(xs, ts)), tf.log1p(tf.exp(tf.neg(tf.abs(xs)))));
      const q = tf.add(tf.mul(tf.sub(1, p), ts), tf.mul(p, tf.sub(1, ts)));
      const at = alpha >= 0 ? tf.add(tf.mul(ts, alpha), tf.mul(tf.sub(1, ts), 1 - alpha)) : null;
      return { p, ce, q, at };
    };
    const forward = ([xs, ts]: tf.Tensor[]) => {
      const { ce, q, at } = parts(xs!, ts!);
      const mod = powGamma(q, gamma);
      const raw = mod ? tf.mul(ce, mod) : ce;
      return [at ? tf.mul(raw, at) : raw];
    };
    const backward = ([xs, ts, dy]: tf.Tensor[]) => {
      const { p, ce: c, q: qq, at: a } = parts(xs!, ts!);
      const qg = powGamma(qq, gamma) ?? tf.onesLike(qq);
      const qg1 = gamma === 0 ? null : tf.mul(gamma, powGamma(qq, gamma - 1) ?? tf.onesLike(qq));
      // d/dx
      let gx = tf.mul(qg, tf.sub(p, ts!));
      if (qg1) gx = tf.add(gx, tf.mul(tf.mul(qg1, c), tf.mul(tf.mul(p, tf.sub(1, p)), tf.sub(1, tf.mul(2, ts!)))));
      if (a) gx = tf.mul(gx, a);
      // d/dt
      let gt = tf.neg(tf.mul(qg, xs!));
      if (qg1) gt = tf.add(gt, tf.mul(tf.mul(qg1, c), tf.sub(1, tf.mul(2, p))));
      if (a) gt = tf.add(tf.mul(gt, a), tf.mul(tf.mul(qg, c), 2 * alpha - 1));
      return [tf.mul(dy!, gx), tf.mul(dy!, gt)];
    };
    return {
      value: byRowChunks([x!, t!], forward)[0]!,
      gradFunc: (dy, [xs, ts]) => byRowChunks([xs!, ts!, dy], backward),
    };
  });
}

/** Element-wise work on [rows, C] tensors is done in chunks of about this many values (bounded intermediates). */
export const LOSS_CHUNK_VALUES = 1 << 21;

/**
 * `f` applied to row chunks of same-shaped rank-2 `inputs` (a single call for small or other-rank inputs), its
 * outputs concatenated: element-wise losses over every anchor × class pair keep their intermediates to one chunk
 * (at 800×1333 RetinaNet has 19 M pairs: 77 MB per intermediate). Rows are copied on the wasm heap where possible
 * (wasm's stock slice copies the whole input through JavaScript for each slice).
 */
function byRowChunks(inputs: tf.Tensor[], f: (chunk: tf.Tensor[]) => tf.Tensor[]): tf.Tensor[] {
  const x = inputs[0]!;
  const [rows, cols] = x.shape;
  if (x.rank !== 2 || x.size <= LOSS_CHUNK_VALUES || inputs.some((t) => t.dtype !== 'float32')) return f(inputs);
  const step = Math.max(1, Math.floor(LOSS_CHUNK_VALUES / cols!));
  const onWasm = tf.getBackend() === 'wasm';
  const pieces: tf.Tensor[][] = [];
  for (let r0 = 0; r0 < rows!; r0 += step) {
    const r1 = Math.min(rows!, r0 + step);
    pieces.push(
      tf.tidy(() => f(inputs.map((t) => (onWasm ? rowRange(t, r0, r1) : tf.slice(t, [r0, 0], [r1 - r0, cols!]))))),
    );
  }
  const out = pieces[0]!.map((_, k) => tf.concat(pieces.map((p) => p[k]!), 0));
  tf.dispose(pieces.flat());
  return out;
}

/** L1 loss |pred − target| (mmdet `L1Loss`). */
export function l1Loss(pred: tf.Tensor, target: tf.Tensor, opts: ReduceOptions = {}): tf.Tensor {
  checkSameShape(pred, target, 'l1Loss');
  return tf.tidy(() => weightReduceLoss(l1Elementwise(pred, target), opts));
}

export interface SmoothL1Options extends ReduceOptions {
  /** Default 1.0 (mmdet `SmoothL1Loss`); 0 = L1. */
  beta?: number;
}

/** Smooth L1 (Huber / β) loss, mmdet `SmoothL1Loss` = torch `F.smooth_l1_loss(beta)`. */
export function smoothL1Loss(pred: tf.Tensor, target: tf.Tensor, opts: SmoothL1Options = {}): tf.Tensor {
  checkSameShape(pred, target, 'smoothL1Loss');
  const beta = opts.beta ?? 1.0;
  if (!(beta >= 0 && Number.isFinite(beta))) throw new Error(`smoothL1Loss: beta must be ≥ 0, got ${beta}`);
  if (beta === 0) return l1Loss(pred, target, opts);
  return tf.tidy(() => weightReduceLoss(smoothL1Elementwise(beta)(pred, target), opts));
}

export interface CrossEntropyOptions extends ReduceOptions {
  /** Rows with this label contribute 0 (default −100, as torch / mmdet). */
  ignoreIndex?: number;
  /** Per-class weights (length C): row i is multiplied by classWeight[label_i]. */
  classWeight?: readonly number[];
  /** 'mean' without avgFactor divides by the number of non-ignored rows (mmdet `avg_non_ignore`). Default false. */
  avgNonIgnore?: boolean;
}

function labelArray(labels: ArrayLike<number> | tf.Tensor): ArrayLike<number> {
  return labels instanceof tf.Tensor ? (labels.dataSync() as ArrayLike<number>) : labels;
}

/** Softmax cross-entropy of `logits` [N, C] with integer `labels` (N values in [0, C) or `ignoreIndex`). */
export function crossEntropyLoss(logits: tf.Tensor2D, labels: ArrayLike<number> | tf.Tensor, opts: CrossEntropyOptions = {}): tf.Tensor {
  if (logits.rank !== 2) throw new Error(`crossEntropyLoss: logits must be [N, C], got [${logits.shape.join(', ')}]`);
  const [n, c] = logits.shape;
  const lab = labelArray(labels);
  if (lab.length !== n) throw new Error(`crossEntropyLoss: ${n} rows of logits but ${lab.length} labels`);
  const ignore = opts.ignoreIndex ?? -100;
  if (opts.classWeight && opts.classWeight.length !== c) {
    throw new Error(`crossEntropyLoss: classWeight has ${opts.classWeight.length} entries for ${c} classes`);
  }
  const idx = new Int32Array(n);
  const rowWeight = opts.classWeight ? new Float32Array(n) : undefined;
  let valid = 0;
  for (let i = 0; i < n; i++) {
    const y = lab[i]!;
    if (y === ignore) {
      idx[i] = -1; // one-hot of −1 is an all-zero row: loss 0, gradient 0
      continue;
    }
    if (!Number.isInteger(y) || y < 0 || y >= c) {
      throw new Error(`crossEntropyLoss: label ${i} is ${y}, expected an integer in [0, ${c}) or the ignore index ${ignore}`);
    }
    idx[i] = y;
    valid++;
    if (rowWeight) rowWeight[i] = opts.classWeight![y]!;
  }
  const avgFactor = opts.avgFactor ?? ((opts.reduction ?? 'mean') === 'mean' && opts.avgNonIgnore ? valid : undefined);
  return tf.tidy(() => {
    const onehot = oneHotFloat(idx, c);
    let loss = tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits), onehot), 1));
    if (rowWeight) loss = tf.mul(loss, tf.tensor1d(rowWeight));
    return weightReduceLoss(loss, { ...opts, avgFactor });
  });
}

/** Binary cross-entropy with logits, element-wise against `targets` (same shape, probabilities). */
export function binaryCrossEntropyWithLogits(logits: tf.Tensor, targets: tf.Tensor, opts: ReduceOptions = {}): tf.Tensor {
  checkSameShape(logits, targets, 'binaryCrossEntropyWithLogits');
  return tf.tidy(() => {
    const t = targets.dtype === 'float32' ? targets : tf.cast(targets, 'float32');
    return weightReduceLoss(bceWithLogitsElementwise(logits, t), opts);
  });
}

/**
 * One-hot float targets [N, C] from integer labels: row i has a 1 at labels[i] when 0 ≤ labels[i] < C, else it is
 * all zeros (background: mmdet labels background as C = num_classes; −1 works too).
 */
export function labelsToOneHot(labels: ArrayLike<number> | tf.Tensor, numClasses: number): tf.Tensor2D {
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new Error(`labelsToOneHot: numClasses must be a positive integer, got ${numClasses}`);
  const lab = labelArray(labels);
  const idx = new Int32Array(lab.length);
  for (let i = 0; i < lab.length; i++) {
    const y = lab[i]!;
    if (!Number.isInteger(y)) throw new Error(`labelsToOneHot: label ${i} is not an integer (${y})`);
    idx[i] = y >= 0 && y < numClasses ? y : -1;
  }
  return tf.tidy(() => oneHotFloat(idx, numClasses));
}

/**
 * float32 one-hot rows (index −1 → zeros). Built as int32 and cast: TF.js 4.22's wasm OneHot kernel writes integer
 * bit patterns when asked for dtype 'float32'.
 */
function oneHotFloat(idx: Int32Array, depth: number): tf.Tensor2D {
  return tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(idx, 'int32'), depth), 'float32') as tf.Tensor2D);
}
