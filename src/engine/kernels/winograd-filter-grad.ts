/**
 * The filter gradient of a 3×3 stride-1 "same" convolution by Winograd F(4×4, 3×3), for the training path's
 * Winograd op (src/nn/winograd-conv-op.ts). The forward is, per 4×4 output tile t and transform position k,
 *
 *   M_k[t, co] = Σ_ci V_k[t, ci] · U_k[ci, co],   V = Bᵀ d B (input tiles),  U = G g Gᵀ (filters),  y = Aᵀ M A,
 *
 * so for an output gradient dy:
 *
 *   dM_k = (A dy Aᵀ)_k per tile           the adjoint of the output transform (wino_output_grad, wasm SIMD)
 *   dU_k = V_kᵀ · dM_k      [Ci, Co]      36 products over the tiles (the 1×1 conv filter gradient, a GEMM)
 *   dg   = Σ_k K_k · dU_k   [9, Ci·Co]    K = the weight transform [36, 9] (G ⊗ G), transposed: one small matMul
 *
 * The multiply-adds of the 36 products are 36·T·Ci·Co against the direct gradient's 9·16·T·Ci·Co: a quarter, as
 * in the forward. dy is zero-padded to the tile grid (the forward cropped its output there). Float32: the sums run
 * in another order and through the transforms' scaling (up to 8² in A), so the result differs from the direct
 * kernel's by ~1e-6–1e-5 of its scale (tested).
 */
import * as tf from '@tensorflow/tfjs';
import { conv2dFilterGrad } from './conv-filter-grad.js';
import { heapAddress } from './heap-wasm.js';
import { heapInt32, newHeapTensor } from './tensor-plumbing.js';
import { inputPlanes, weightTransformMatrix, winogradKernels } from './winograd-conv.js';

/** dW [3, 3, Ci, Co] of conv2d(x, W, stride 1, pad 1) for the output gradient dy [N, H, W, Co] (wasm only). */
export function winogradFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D): tf.Tensor4D {
  const k = winogradKernels();
  if (!k) throw new Error('winogradFilterGrad: needs the wasm backend');
  const [N, H, W, Ci] = x.shape;
  const Co = dy.shape[3];
  if (dy.shape[0] !== N || dy.shape[1] !== H || dy.shape[2] !== W) {
    throw new Error(`winogradFilterGrad: dy [${dy.shape.join(', ')}] does not match x [${x.shape.join(', ')}] (a "same" conv)`);
  }
  const tY = Math.ceil(H / 4);
  const tX = Math.ceil(W / 4);
  const T = N * tY * tX;
  return tf.tidy(() => {
    const v = inputPlanes(x);
    const dyp = 4 * tY === H && 4 * tX === W ? dy : tf.pad(dy, [[0, 0], [0, 4 * tY - H], [0, 4 * tX - W], [0, 0]]);
    const dm = Array.from({ length: 36 }, () => newHeapTensor([1, T, 1, Co]) as tf.Tensor4D);
    k.wino_output_grad(heapAddress(dyp), N, tY, tX, Co, heapAddress(heapInt32(dm.map(heapAddress))));
    // dU_k = V_kᵀ dM_k: the filter gradient of a 1×1 conv from V_k to dM_k (one GEMM)
    const du = v.map((vk, i) => tf.reshape(conv2dFilterGrad(vk, dm[i]!, [1, 1], 'valid', [1, 1, Ci, Co]), [1, Ci * Co]));
    const kt = tf.transpose(tf.tensor2d(weightTransformMatrix(), [36, 9])); // [9, 36]
    return tf.reshape(tf.matMul(kt, tf.concat(du, 0)), [3, 3, Ci, Co]) as tf.Tensor4D;
  });
}
