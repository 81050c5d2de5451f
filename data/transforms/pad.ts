/**
 * Bottom/right padding to a multiple of 32, as mmdetection's `DetDataPreprocessor(pad_size_divisor=32)`
 * (`stack_batch`): every image of a batch is padded to the batch's largest height and width, each rounded up to
 * the divisor, with value 0 *after* normalisation (`pad_value=0`); masks are padded with 0 (`pad_mask=True`).
 * The image stays in the top-left corner, so box coordinates are unchanged.
 */

export interface PadSize {
  width: number;
  height: number;
}

/** `width` × `height` rounded up to multiples of `divisor`. */
export function padSize(width: number, height: number, divisor = 32): PadSize {
  if (!(Number.isInteger(divisor) && divisor >= 1)) throw new RangeError(`padSize: divisor must be a positive integer, got ${divisor}`);
  return { width: Math.ceil(width / divisor) * divisor, height: Math.ceil(height / divisor) * divisor };
}

/** The padded size of a batch: the largest width and height of `sizes`, each rounded up to `divisor`. */
export function batchPadSize(sizes: readonly PadSize[], divisor = 32): PadSize {
  if (sizes.length === 0) throw new RangeError('batchPadSize: empty batch');
  let w = 0;
  let h = 0;
  for (const s of sizes) {
    w = Math.max(w, s.width);
    h = Math.max(h, s.height);
  }
  return padSize(w, h, divisor);
}

/**
 * `data` (row-major, `height` rows of `width` × `channels` values) copied into the top-left corner of a new
 * `padWidth` × `padHeight` array of the same type, the rest filled with `value`.
 */
export function padHwc<T extends Float32Array | Uint8Array>(
  data: T,
  width: number,
  height: number,
  channels: number,
  padWidth: number,
  padHeight: number,
  value = 0,
): T {
  if (padWidth < width || padHeight < height) {
    throw new RangeError(`padHwc: pad size ${padWidth}×${padHeight} is smaller than ${width}×${height}`);
  }
  if (data.length !== width * height * channels) {
    throw new RangeError(`padHwc: ${data.length} values, expected ${height}×${width}×${channels}`);
  }
  const Ctor = data.constructor as new (n: number) => T;
  const out = new Ctor(padWidth * padHeight * channels);
  if (value !== 0) out.fill(value);
  const rowLen = width * channels;
  if (padWidth === width) {
    out.set(data);
  } else {
    for (let y = 0; y < height; y++) out.set(data.subarray(y * rowLen, (y + 1) * rowLen), y * padWidth * channels);
  }
  return out;
}
