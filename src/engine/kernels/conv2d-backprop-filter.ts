/**
 * `Conv2DBackpropFilter` for the wasm backend (stock TF.js 4.22 has none).
 *
 *   dW[kh, kw, ci, co] = Σ_{n, oh, ow} xpad[n, oh·s + kh, ow·s + kw, ci] · dy[n, oh, ow, co]
 *
 * As rank-2, untransposed XNNPACK GEMMs:
 *
 *   A[(kh, kw, ci), (n, oh, w)] · B[(n, oh, w), co],   B = dy with Wq − OW zero columns appended to each row.
 *
 * x is zero-padded and split into its s×s stride phases, as planes [Ci, N, phase, Hq, Wq] with row pitch
 * Wq = OW + ⌊(KW−1)/s⌋ (rank-3/4 transposes, which wasm does quickly). In a phase plane every tap is a stride-1
 * window, so the row of A for (tap, ci) and one image is ONE contiguous run of OH·Wq values starting at
 * (⌊kh/s⌋, ⌊kw/s⌋): the last Wq − OW values of each output row wrap into the next plane row and meet the zero
 * columns of B ("full-row" im2col). A is copied together on the wasm heap run by run (the wasm Slice kernel would
 * first copy its whole input into a fresh JS array). dW comes out as [(kh, kw, ci), co] = [KH, KW, Ci, Co].
 *
 * XNNPACK packs the B operand on every call (~5 ns per value), so B is dy, not the K-times larger patch matrix.
 * Long inner dimensions are split into row chunks and A into tap chunks (see `tuning`), which bounds memory.
 *
 * Limitations: NHWC, dilation 1 (like TF.js's own conv2d gradient). The wrap-around values are multiplied by
 * zeros, so an x holding ±Inf can give NaN in dW where the cpu kernel gives ±Inf.
 */
import * as tf from '@tensorflow/tfjs';
import { assertShape, convGeometry, type ConvAttrs, type ConvGeometry } from './conv-geometry.js';
import { crop4d, heapF32, newHeapTensor, rowRange, runWithTensors, transposeRows, type TensorInfo } from './tensor-plumbing.js';

export const KERNEL = 'Conv2DBackpropFilter';

/**
 * Bounds for one GEMM: the patch matrix A (bytes; a single tap may exceed it) and the inner (row) dimension.
 * Exported for benchmarks.
 */
export const tuning = { maxChunkBytes: 64 << 20, splitInnerAbove: 16384, innerLen: 8192 };

interface BackpropFilterAttrs extends ConvAttrs {
  filterShape: [number, number, number, number];
}

/** Pad (or, for negative amounts, crop) the H and W axes of an NHWC tensor. */
function padOrCrop(x: tf.Tensor4D, top: number, bottom: number, left: number, right: number): tf.Tensor4D {
  let t = x;
  if (top < 0 || bottom < 0 || left < 0 || right < 0) {
    const [N, H, W, C] = x.shape;
    const h0 = Math.max(0, -top);
    const w0 = Math.max(0, -left);
    t = crop4d(x, [0, h0, w0, 0], [N, H - h0 - Math.max(0, -bottom), W - w0 - Math.max(0, -right), C]) as tf.Tensor4D;
  }
  const [pt, pb, pl, pr] = [top, bottom, left, right].map((v) => Math.max(0, v)) as [number, number, number, number];
  return pt + pb + pl + pr > 0 ? tf.pad(t, [[0, 0], [pt, pb], [pl, pr], [0, 0]]) : t;
}

/**
 * The zero-padded stride phases of x that the taps use, as planes [Ci·N, phases, Hq, Wq]:
 * plane (c, n, (eh, ew))[i, j] = x[n, i·sH + eh − padTop, j·sW + ew − padLeft, c] (zero outside x).
 * Returns the tensor and the plane index of each phase eh·sW + ew (−1 if not built).
 */
function phasePlanes(x: tf.Tensor4D, g: ConvGeometry, Hq: number, Wq: number): { planes: tf.Tensor; index: number[] } {
  const { batch: N, inH: H, inW: W, inC: Ci, kH: KH, kW: KW, sH, sW } = g;
  const nH = Math.min(KH, sH);
  const nW = Math.min(KW, sW);
  if (nH * nW === 1) {
    // One phase (stride 1, or a 1×1 kernel): pad, or subsample with a one-hot strided depthwise conv.
    let p: tf.Tensor4D;
    if (sH === 1 && sW === 1) {
      p = padOrCrop(x, g.padTop, Hq - g.padTop - H, g.padLeft, Wq - g.padLeft - W);
    } else {
      // XNNPACK has fast depthwise micro-kernels for 2×2, 3×3 and 5×5 filters (1×1 and 1×2 are ~2–8× slower).
      const xs = padOrCrop(x, 0, Math.min(0, (Hq - 1) * sH + 1 - g.padTop - H), 0, Math.min(0, (Wq - 1) * sW + 1 - g.padLeft - W));
      const [, Hs, Ws] = xs.shape;
      const sel = new Float32Array(4 * Ci).fill(1, 0, Ci); // 2×2 filter, tap (0, 0)
      const bottom = (Hq - 1) * sH + 2 - Hs - g.padTop;
      const right = (Wq - 1) * sW + 2 - Ws - g.padLeft;
      p = tf.depthwiseConv2d(xs, tf.tensor4d(sel, [2, 2, Ci, 1]), [sH, sW], [
        [0, 0],
        [g.padTop, bottom],
        [g.padLeft, right],
        [0, 0],
      ]);
    }
    const index = new Array<number>(sH * sW).fill(-1);
    index[0] = 0;
    return { planes: transposeRows(p, N * Hq * Wq, Ci), index };
  }
  // All phases: pad to [N, sH·Hq, sW·Wq, Ci], then split the phases with rank-3/4 transposes and move the channels
  // first with a rank-2 one (the fastest orders measured on wasm).
  const xp = padOrCrop(x, g.padTop, sH * Hq - g.padTop - H, g.padLeft, sW * Wq - g.padLeft - W);
  let planes: tf.Tensor;
  if (Ci >= 16) {
    // Long channel runs stay innermost until the last step.
    const a = tf.transpose(xp.reshape([N, Hq, sH, Wq * sW * Ci]), [0, 2, 1, 3]); // [N, sH, Hq, Wq, sW, Ci]
    const b = tf.transpose(a.reshape([N * sH * Hq, Wq, sW, Ci]), [0, 2, 1, 3]); // [N, sH, Hq, sW, Wq, Ci]
    const c = tf.transpose(b.reshape([N * sH, Hq, sW, Wq * Ci]), [0, 2, 1, 3]); // [N, sH, sW, Hq, Wq, Ci]
    planes = transposeRows(c, N * sH * sW * Hq * Wq, Ci); // [Ci, N, sH·sW, Hq, Wq]
  } else {
    const a = tf.transpose(xp.reshape([N, Hq, sH, Wq * sW * Ci]), [0, 2, 1, 3]); // [N, sH, Hq, Wq, sW, Ci]
    planes = tf.transpose(a.reshape([N * sH, Hq * Wq, sW, Ci]), [3, 0, 2, 1]); // [Ci, N, sH, sW, Hq·Wq]
  }
  return { planes, index: Array.from({ length: sH * sW }, (_, i) => i) };
}

export function conv2dBackpropFilterImpl(x: tf.Tensor4D, dy: tf.Tensor4D, attrs: BackpropFilterAttrs): tf.Tensor4D {
  const g = convGeometry(KERNEL, x.shape, attrs.filterShape, attrs, false);
  assertShape(KERNEL, 'dy', dy.shape, [g.batch, g.outH, g.outW, g.outC]);
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') {
    throw new Error(`tiedet ${KERNEL} (wasm): float32 only, got x ${x.dtype}, dy ${dy.dtype}`);
  }
  return tf.tidy(() => {
    const { batch: N, inC: Ci, outH: OH, outW: OW, outC: Co, kH: KH, kW: KW, sH, sW } = g;
    const Hq = OH + Math.floor((KH - 1) / sH);
    const Wq = OW + Math.floor((KW - 1) / sW);
    const { planes, index } = phasePlanes(x, g, Hq, Wq);
    const nPh = planes.size / (Ci * N * Hq * Wq);
    const B = (Wq > OW ? tf.pad(dy, [[0, 0], [0, 0], [0, Wq - OW], [0, 0]]) : dy).reshape([N * OH * Wq, Co]);
    const K = KH * KW;
    const planeLen = Hq * Wq;
    // The GEMM's inner dimension runs over the rows (n, oh) of dy, OH·Wq values per image. XNNPACK does not block
    // that dimension, so a long one streams the packed B from memory for every row tile: above splitInnerAbove
    // values, split it into row chunks of ~innerLen values (dW is the sum over chunks; measured 1.4× faster at
    // 200×336, ~10% slower when split at 2×64×64). Within a chunk, the taps are split so that the patch matrix A
    // stays below maxChunkBytes.
    const rows = N * OH;
    const rowChunks = rows * Wq > tuning.splitInnerAbove ? Math.ceil((rows * Wq) / tuning.innerLen) : 1;
    const rowsPerChunk = Math.ceil(rows / rowChunks);
    const tapsPerChunk = Math.max(1, Math.min(K, Math.floor(tuning.maxChunkBytes / (4 * Ci * rowsPerChunk * Wq))));
    const acc: (tf.Tensor | null)[] = [];
    for (let r0 = 0; r0 < rows; r0 += rowsPerChunk) {
      const r1 = Math.min(rows, r0 + rowsPerChunk);
      const kLen = (r1 - r0) * Wq;
      const Bc = r1 - r0 === rows ? B : rowRange(B, r0 * Wq, r1 * Wq);
      // Pieces of this row range inside each image: [n, oh0, oh1).
      const pieces: [number, number, number][] = [];
      for (let n = Math.floor(r0 / OH); n * OH < r1; n++) {
        pieces.push([n, Math.max(r0 - n * OH, 0), Math.min(r1 - n * OH, OH)]);
      }
      if (K === 1 && nPh === 1 && rowChunks === 1 && Hq === OH) {
        // 1×1 kernel, one GEMM: the plane tensor already is A.
        acc[0] = tf.matMul(planes.reshape([Ci, kLen]), Bc);
        break;
      }
      for (let t0 = 0, chunk = 0; t0 < K; t0 += tapsPerChunk, chunk++) {
        const nt = Math.min(tapsPerChunk, K - t0);
        const A = newHeapTensor([nt * Ci, kLen]);
        const dst = heapF32(A); // views taken after the allocation
        const src = heapF32(planes);
        for (let j = 0; j < nt; j++) {
          const kh = Math.floor((t0 + j) / KW);
          const kw = (t0 + j) % KW;
          const ph = index[(kh % sH) * sW + (kw % sW)]!;
          const off = Math.floor(kh / sH) * Wq + Math.floor(kw / sW);
          for (let ci = 0; ci < Ci; ci++) {
            let d0 = (j * Ci + ci) * kLen;
            for (const [n, oh0, oh1] of pieces) {
              const s0 = ((ci * N + n) * nPh + ph) * planeLen + off + oh0 * Wq;
              const runLen = (oh1 - oh0) * Wq;
              // The last run of a plane may run past the end of the buffer: those values meet B's zero columns.
              const len = Math.max(0, Math.min(runLen, src.length - s0));
              dst.set(src.subarray(s0, s0 + len), d0);
              if (len < runLen) dst.fill(0, d0 + len, d0 + runLen);
              d0 += runLen;
            }
          }
        }
        const part = tf.matMul(A, Bc); // [nt·Ci, Co]
        A.dispose();
        const prev = acc[chunk];
        acc[chunk] = prev ? tf.add(prev, part) : part;
        if (prev) {
          prev.dispose();
          part.dispose();
        }
      }
      if (Bc !== B) Bc.dispose();
    }
    const parts = acc as tf.Tensor[];
    const r = parts.length === 1 ? parts[0]! : tf.concat(parts, 0);
    return r.reshape([KH, KW, Ci, Co]);
  });
}

export function conv2dBackpropFilterKernel(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): TensorInfo {
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const attrs = args.attrs as unknown as BackpropFilterAttrs;
  return runWithTensors(args.backend, [x, dy], (xt, dyt) =>
    conv2dBackpropFilterImpl(xt as tf.Tensor4D, dyt as tf.Tensor4D, attrs),
  );
}

