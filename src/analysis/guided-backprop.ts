/**
 * Guided backpropagation (Springenberg et al. 2014, "Striving for Simplicity", §3.4): the gradient of one unit's
 * activation with respect to the input image, where every ReLU on the way back passes a gradient only where it
 * is positive AND the ReLU's forward input was positive — dx = max(dy, 0) · [x > 0] instead of dy · [x > 0].
 * The paper (PAPER.md, Fig. 1 / 9) measures filter redundancy on these patterns.
 *
 * `withGuidedRelu(fn)` swaps TF.js's `Relu` gradient for the guided one while `fn` runs (the tape records a
 * node's gradient function at forward time, so the forward pass must run inside too) and restores it after,
 * also on a throw. tiedet's backbones apply ReLU with `tf.relu` whenever a tape records (BN folding and the
 * fused wasm inference paths, which carry their own ReLU, are off while `gradientDepth > 0`:
 * src/nn/conv-bn.ts `canFoldBn`), so every ReLU of a backbone is guided.
 *
 * `guidedPatterns(forward, image, filters)`: the pattern of each filter f = the guided gradient of Σ_{h,w} a_f
 * (the sum of channel f of the layer's output over all positions) with respect to the image. The image is
 * repeated once per filter along the batch and the objective sums channel f_b of item b: with BN on running
 * statistics (the caller puts the model in eval mode) the items are independent, so ONE backward pass gives
 * every filter's pattern.
 */
import * as tf from '@tensorflow/tfjs';

const RELU = 'Relu';

const guidedReluGradient: tf.GradConfig = {
  kernelName: RELU,
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => {
    const [x] = saved as tf.Tensor[];
    const g = dy as tf.Tensor;
    return { x: () => tf.mul(tf.relu(g), tf.cast(tf.greater(x!, 0), 'float32')) };
  },
};

/** Runs `fn` with the guided ReLU gradient installed (see the file comment). Not re-entrant across awaits. */
export function withGuidedRelu<T>(fn: () => T): T {
  const original = tf.getGradient(RELU);
  tf.registerGradient(guidedReluGradient);
  try {
    return fn();
  } finally {
    if (original) tf.registerGradient(original);
    else tf.unregisterGradient(RELU);
  }
}

/** An image as float32 HWC (already resized and normalised as the model expects). */
export interface InputImage {
  data: Float32Array;
  height: number;
  width: number;
  channels: number;
}

/**
 * The guided-backpropagation pattern of each of `filters` (channel indices of `forward`'s output [n, h, w, C])
 * on `image`: one Float32Array of height · width · channels per filter (HWC), in the order of `filters`.
 */
export function guidedPatterns(forward: (x: tf.Tensor4D) => tf.Tensor4D, image: InputImage, filters: readonly number[]): Float32Array[] {
  const { data, height, width, channels } = image;
  if (data.length !== height * width * channels) {
    throw new RangeError(`guidedPatterns: image has ${data.length} values, expected ${height}×${width}×${channels}`);
  }
  const n = filters.length;
  if (n === 0) return [];
  const grads = withGuidedRelu(() =>
    tf.tidy(() => {
      const x = tf.tile(tf.tensor4d(data, [1, height, width, channels]), [n, 1, 1, 1]) as tf.Tensor4D;
      const objective = (input: tf.Tensor): tf.Scalar => {
        const a = forward(input as tf.Tensor4D);
        const c = a.shape[3];
        for (const f of filters) {
          if (!Number.isInteger(f) || f < 0 || f >= c) throw new RangeError(`guidedPatterns: filter ${f} is not a channel of the layer (0…${c - 1})`);
        }
        // A float32 mask built here (tf.oneHot's float output is wrong on the wasm backend of TF.js 4.22).
        const m = new Float32Array(n * c);
        filters.forEach((f, b) => (m[b * c + f] = 1));
        const mask = tf.tensor4d(m, [n, 1, 1, c]);
        return tf.sum(tf.mul(a, mask)) as tf.Scalar;
      };
      return tf.grad(objective)(x);
    }),
  );
  const flat = grads.dataSync() as Float32Array;
  grads.dispose();
  const size = height * width * channels;
  return filters.map((_, b) => flat.slice(b * size, (b + 1) * size));
}
