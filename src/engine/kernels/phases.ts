/**
 * Stride-phase decomposition of a transposed convolution (the input gradient of a strided conv), shared by the
 * conv2d and depthwise input-gradient kernels.
 *
 * The forward op reads x[i] at i = o·s + k − pad (output o, tap k). Write i = s·a + p with phase p ∈ [0, s): the
 * taps reaching phase p are k ≡ p + pad (mod s), and tap k meets dy[a + δ] with δ = (p + pad − k) / s. So each
 * phase is a plain stride-1 correlation of dy over the window δ ∈ [deltaMin, deltaMin + length) with a flipped
 * sub-filter, and dx is the phases interleaved. No zero-inserted dy, no wasted taps.
 */
import * as tf from '@tensorflow/tfjs';
import type { ConvGeometry } from './conv-geometry.js';
import { crop4d, heapF32, newHeapTensor } from './tensor-plumbing.js';

/** Window of dy offsets δ (dy[a + δ]) that a phase reads along one axis. */
export interface Window {
  deltaMin: number;
  length: number;
}

export interface Phase {
  p: number;
  q: number;
  wh: Window;
  ww: Window;
}

/** Forward tap k that phase p reads at offset δ, or -1. */
export function tapAt(p: number, delta: number, s: number, pad: number, k: number): number {
  const t = p + pad - s * delta;
  return t >= 0 && t < k ? t : -1;
}

function phaseWindow(p: number, s: number, pad: number, k: number): Window | null {
  const lo = Math.ceil((p + pad - k + 1) / s);
  const hi = Math.floor((p + pad) / s);
  return lo <= hi ? { deltaMin: lo, length: hi - lo + 1 } : null;
}

/** The phases that receive at least one tap (a phase with none is all zeros in dx). */
export function listPhases(g: ConvGeometry): Phase[] {
  const out: Phase[] = [];
  for (let p = 0; p < g.sH; p++) {
    const wh = phaseWindow(p, g.sH, g.padTop, g.kH);
    if (!wh) continue;
    for (let q = 0; q < g.sW; q++) {
      const ww = phaseWindow(q, g.sW, g.padLeft, g.kW);
      if (ww) out.push({ p, q, wh, ww });
    }
  }
  return out;
}

/** Rows per phase: ⌈in / s⌉. */
export function phaseRows(g: ConvGeometry): [number, number] {
  return [Math.ceil(g.inH / g.sH), Math.ceil(g.inW / g.sW)];
}

/**
 * The dy to correlate for a phase and the explicit NHWC padding that makes the output exactly
 * [N, ⌈H/s⌉, ⌈W/s⌉, ·]. dy rows/columns that no tap of the phase reaches are cropped off.
 */
export function phaseInput(
  dy: tf.Tensor4D,
  ph: Phase,
  g: ConvGeometry,
): { src: tf.Tensor4D; pad: [[number, number], [number, number], [number, number], [number, number]] } {
  const [rowsH, rowsW] = phaseRows(g);
  const [N, OH, OW, C] = dy.shape;
  let top = -ph.wh.deltaMin;
  let bottom = rowsH + ph.wh.deltaMin + ph.wh.length - 1 - OH;
  let left = -ph.ww.deltaMin;
  let right = rowsW + ph.ww.deltaMin + ph.ww.length - 1 - OW;
  let src = dy;
  if (top < 0 || bottom < 0 || left < 0 || right < 0) {
    const h0 = Math.max(0, -top);
    const w0 = Math.max(0, -left);
    src = crop4d(dy, [0, h0, w0, 0], [N, OH - h0 - Math.max(0, -bottom), OW - w0 - Math.max(0, -right), C]) as tf.Tensor4D;
    top = Math.max(0, top);
    left = Math.max(0, left);
    bottom = Math.max(0, bottom);
    right = Math.max(0, right);
  }
  return {
    src,
    pad: [
      [0, 0],
      [top, bottom],
      [left, right],
      [0, 0],
    ],
  };
}

/**
 * Interleave phase outputs ([N, ⌈H/s⌉, ⌈W/s⌉, C] each, in `phases` order) into dx [N, H, W, C]:
 * dx[n, a·sH + p, b·sW + q, :] = out_pq[n, a, b, :]. Phases not listed are zero.
 */
export function interleavePhases(outs: tf.Tensor4D[], phases: Phase[], g: ConvGeometry, C: number): tf.Tensor4D {
  const { batch: N, inH: H, inW: W, sH, sW } = g;
  const [A, B] = phaseRows(g);
  if (sH === 1 && sW === 1) {
    const y = outs[0]!;
    return y.shape[1] === H && y.shape[2] === W ? y : (crop4d(y, [0, 0, 0, 0], [N, H, W, C]) as tf.Tensor4D);
  }
  const dx = newHeapTensor([N, H, W, C]) as tf.Tensor4D;
  const dst = heapF32(dx);
  if (phases.length < sH * sW) dst.fill(0);
  phases.forEach(({ p, q }, k) => {
    const src = heapF32(outs[k]!);
    const aHi = Math.ceil((H - p) / sH);
    const bHi = Math.ceil((W - q) / sW);
    for (let n = 0; n < N; n++) {
      for (let a = 0; a < aHi; a++) {
        const srcRow = (n * A + a) * B * C;
        const dstRow = ((n * H + a * sH + p) * W + q) * C;
        if (C >= 16) {
          for (let b = 0; b < bHi; b++) {
            const s0 = srcRow + b * C;
            dst.set(src.subarray(s0, s0 + C), dstRow + b * sW * C);
          }
        } else {
          for (let b = 0; b < bHi; b++) {
            const s0 = srcRow + b * C;
            const d0 = dstRow + b * sW * C;
            for (let c = 0; c < C; c++) dst[d0 + c] = src[s0 + c]!;
          }
        }
      }
    }
  });
  return dx;
}
