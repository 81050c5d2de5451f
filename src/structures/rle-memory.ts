/**
 * The memory behind the COCO RLE codec (src/structures/rle*.ts): the size check every entry point makes, a grow-only
 * scratch buffer, and the 1 MiB slabs that the run arrays of new RLEs are views into (one allocation per slab
 * instead of one backing store per RLE: hundreds of thousands of small typed arrays cost more in allocation and GC
 * than the parsing itself). Single-threaded; the scratch buffer is never returned to callers.
 */

export const UINT32 = 4294967296;

export function checkSize(h: number, w: number, fn: string): void {
  if (!Number.isInteger(h) || h < 0 || !Number.isInteger(w) || w < 0) {
    throw new RangeError(`${fn}: size must be two non-negative integers, got h=${String(h)}, w=${String(w)}`);
  }
  if (h * w >= UINT32) throw new RangeError(`${fn}: mask of ${h}x${w} pixels exceeds 2^32 pixels`);
}

let scratchU32 = new Uint32Array(1024);
/** A scratch array of at least n entries (shared: valid until the next call). */
export function u32Scratch(n: number): Uint32Array {
  if (scratchU32.length < n) scratchU32 = new Uint32Array(Math.max(n, scratchU32.length * 2));
  return scratchU32;
}

const SLAB = 1 << 18;
let slab = new Uint32Array(SLAB);
let slabUsed = 0;
/**
 * Makes room for n runs (a fresh slab, or a dedicated array when n is large) and returns where to write them:
 * `buf[base..base + n)`; hand them out with {@link slabCommit}.
 */
export function slabReserve(n: number): { buf: Uint32Array; base: number } {
  if (slabUsed + n > slab.length) {
    slab = new Uint32Array(n > SLAB >>> 4 ? n : SLAB);
    slabUsed = 0;
  }
  return { buf: slab, base: slabUsed };
}
/** Hands out the n runs just written at the position {@link slabReserve} returned. */
export function slabCommit(n: number): Uint32Array {
  const out = slab.subarray(slabUsed, slabUsed + n);
  slabUsed += n;
  return out;
}
/** A fresh Uint32Array of n runs holding src[0..n) (a view into a shared slab). */
export function countsFrom(src: Uint32Array, n: number): Uint32Array {
  const { buf: dst, base } = slabReserve(n);
  for (let i = 0; i < n; i++) dst[base + i] = src[i]!;
  return slabCommit(n);
}
