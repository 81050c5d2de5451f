/** IEEE half precision → float32, for the weight readers (safetensors.ts F16, pth.ts float16 storages). */

let table: Float32Array | undefined;

/** The float32 value of every float16 bit pattern (exact: every half is a float32), built once. */
export function halfTable(): Float32Array {
  if (table) return table;
  const bits = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0x1f) {
      bits[h] = sign | 0x7f800000 | (mant << 13); // inf / NaN (payload kept)
    } else if (exp !== 0) {
      bits[h] = sign | ((exp + 112) << 23) | (mant << 13); // normal: rebias 15 → 127
    } else if (mant === 0) {
      bits[h] = sign; // ±0
    } else {
      // subnormal: mant·2^-24, exactly representable as a float32 normal
      let e = -1;
      let m = mant;
      while ((m & 0x400) === 0) {
        m <<= 1;
        e++;
      }
      bits[h] = sign | ((112 - e) << 23) | ((m & 0x3ff) << 13);
    }
  }
  table = new Float32Array(bits.buffer);
  return table;
}
