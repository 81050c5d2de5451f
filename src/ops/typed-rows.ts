/**
 * Row plumbing on flat typed arrays ([n × width] row-major, e.g. boxes with width 4, scores with width 1): the
 * concatenation and row selection the detectors' typed-array post-processing does between top-k, NMS and output.
 */

/** The parts one after another, in a new array of `ctor`'s type. */
export function concatArrays<T extends Float32Array | Int32Array | Uint8Array>(parts: readonly T[], ctor: { new (n: number): T }): T {
  const out = new ctor(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Rows `idx` (in that order) of a [n × width] typed array, in a new array of the same type. */
export function pickRows<T extends Float32Array | Int32Array | Uint8Array>(src: T, idx: ArrayLike<number>, width: number): T {
  const out = new (src.constructor as { new (n: number): T })(idx.length * width);
  for (let i = 0; i < idx.length; i++) {
    const o = idx[i]! * width;
    for (let c = 0; c < width; c++) out[i * width + c] = src[o + c]!;
  }
  return out;
}
