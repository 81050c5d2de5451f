/**
 * The compressed string form of a COCO RLE (pycocotools `rleToString` / `rleFrString`), and the JSON record that
 * carries it ({@link CompressedRle}: COCO annotations, results files and detectors' masks).
 * Integer arithmetic follows the C code (32-bit unsigned / signed wrap where maskApi relies on it, C's truncating
 * double→int conversion), and every floating-point expression is evaluated in the same order as in C, so results
 * are bit-identical to pycocotools (IEEE double, no FMA contraction — as in pycocotools' x86-64 builds).
 * Pure TypeScript: no TF.js, no Node APIs.
 */
import type { CompressedRle, Rle } from './rle.js';
import { checkSize, countsFrom, u32Scratch, UINT32 } from './rle-memory.js';

let scratchBytes = new Uint8Array(4096);
const latin1 = new TextDecoder('latin1');

/**
 * pycocotools' compressed counts string: each count (for index > 2: its difference to the count two places
 * before) is written as a little-endian sequence of 5-bit groups with a continuation bit (0x20) and sign bit (0x10)
 * in the last group, each group + 48 as an ASCII character.
 */
export function rleToString(rle: Rle): string {
  const cnts = rle.counts;
  const m = cnts.length;
  if (scratchBytes.length < m * 7 + 1) scratchBytes = new Uint8Array(Math.max(m * 7 + 1, scratchBytes.length * 2));
  const s = scratchBytes;
  let p = 0;
  for (let i = 0; i < m; i++) {
    let x = cnts[i]!;
    if (i > 2) x -= cnts[i - 2]!;
    let more = true;
    while (more) {
      let c = x & 0x1f; // |x| < 2^33: ToInt32 keeps the low 5 bits of the two's complement
      x = Math.floor(x / 32); // arithmetic shift right by 5
      more = c & 0x10 ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      s[p++] = c + 48;
    }
  }
  return latin1.decode(s.subarray(0, p));
}

function quote(s: string, at: number): string {
  const lo = Math.max(0, at - 12);
  return JSON.stringify(s.slice(lo, at + 12));
}

function badChar(s: string, p: number): RangeError {
  return new RangeError(
    `rleFromString: malformed counts string: character ${JSON.stringify(s[p])} at position ${p} is outside '0'..'o' (near ${quote(s, p)})`,
  );
}

/**
 * Parses pycocotools' compressed counts string for an h×w mask. Throws a RangeError naming the position on
 * characters outside '0'..'o', a string that ends inside a value, a count that decodes to a negative or > 2^32
 * number, and runs that do not add up to h*w pixels (pycocotools accepts all of these and computes garbage).
 */
export function rleFromString(s: string, h: number, w: number): Rle {
  if (typeof s !== 'string') throw new TypeError(`rleFromString: counts must be a string, got ${typeof s}`);
  checkSize(h, w, 'rleFromString');
  const n = s.length;
  const cnts = u32Scratch(n + 1);
  let m = 0;
  let p = 0;
  let total = 0;
  while (p < n) {
    const valueStart = p;
    let c = s.charCodeAt(p++) - 48;
    if (c >>> 0 > 63) throw badChar(s, p - 1);
    let x = c & 0x1f;
    let mul = 32; // 32^(characters read)
    while (c & 0x20) {
      if (p >= n) {
        throw new RangeError(
          `rleFromString: malformed counts string: it ends inside a value (position ${valueStart}, near ${quote(s, valueStart)})`,
        );
      }
      c = s.charCodeAt(p++) - 48;
      if (c >>> 0 > 63) throw badChar(s, p - 1);
      x += (c & 0x1f) * mul;
      mul *= 32;
      if (mul > 34359738368) {
        throw new RangeError(`rleFromString: malformed counts string: value at position ${valueStart} is longer than 7 characters`);
      }
    }
    if (c & 0x10) x -= mul; // sign extension
    if (m > 2) x += cnts[m - 2]!;
    if (x < 0 || x >= UINT32) {
      throw new RangeError(`rleFromString: malformed counts string: run ${m} (position ${valueStart}) decodes to ${x}`);
    }
    cnts[m++] = x;
    total += x;
  }
  if (total !== h * w) {
    throw new RangeError(
      `rleFromString: counts cover ${total} pixels but size [${h}, ${w}] has ${h * w} pixels (wrong size or corrupt string)`,
    );
  }
  return { h, w, counts: countsFrom(cnts, m) };
}

/** `{size: [h, w], counts: string}` as written to COCO results JSON. */
export function toCompressed(rle: Rle): CompressedRle {
  return { size: [rle.h, rle.w], counts: rleToString(rle) };
}
