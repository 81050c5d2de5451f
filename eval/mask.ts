/**
 * COCO run-length encoding (RLE) with the behaviour of pycocotools 2.0.11 (`maskApi.c`, `_mask.pyx`, `mask.py`).
 *
 * An {@link Rle} holds *uncompressed* run lengths over the mask in column-major (Fortran) order, starting with a
 * run of zeros (possibly of length 0): `counts = [zeros, ones, zeros, …]`. The compressed form used in COCO JSON
 * (`{"size": [h, w], "counts": "…"}`) is produced by {@link rleToString} and read by {@link rleFromString}.
 *
 * Everything here works on typed arrays; no per-pixel objects are created. Integer arithmetic follows the C code
 * (32-bit unsigned / signed wrap where maskApi relies on it, C's truncating double→int conversion), and every
 * floating-point expression is evaluated in the same order as in C, so results are bit-identical to pycocotools
 * (IEEE double, no FMA contraction — as in pycocotools' x86-64 builds).
 *
 * Pure TypeScript: no TF.js, no Node APIs.
 */

/**
 * Uncompressed COCO RLE: run lengths in column-major order, starting with a (possibly empty) run of zeros.
 * The `counts` returned by this module may be views into a shared slab (see `countsFrom`): treat them as
 * read-only and copy them (`counts.slice()`) before transferring their buffer to a worker.
 */
export interface Rle {
  h: number;
  w: number;
  counts: Uint32Array;
}

/** A COCO RLE as it appears in JSON (compressed counts string). */
export interface CompressedRle {
  size: [number, number];
  counts: string;
}

/** A COCO RLE in JSON with uncompressed counts (COCO's crowd annotations use this form). */
export interface UncompressedRle {
  size: [number, number];
  counts: number[];
}

export type MaskOrder = 'col' | 'row';

const UINT32 = 4294967296;

function checkSize(h: number, w: number, fn: string): void {
  if (!Number.isInteger(h) || h < 0 || !Number.isInteger(w) || w < 0) {
    throw new RangeError(`${fn}: size must be two non-negative integers, got h=${String(h)}, w=${String(w)}`);
  }
  if (h * w >= UINT32) throw new RangeError(`${fn}: mask of ${h}x${w} pixels exceeds 2^32 pixels`);
}

// Grow-only scratch buffers shared by the functions below (single-threaded; never returned to callers).
let scratchU32 = new Uint32Array(1024);
function u32Scratch(n: number): Uint32Array {
  if (scratchU32.length < n) scratchU32 = new Uint32Array(Math.max(n, scratchU32.length * 2));
  return scratchU32;
}

// Output run arrays are views into 1 MiB slabs: one allocation per slab instead of one backing store per RLE
// (hundreds of thousands of small typed arrays cost more in allocation and GC than the parsing itself).
const SLAB = 1 << 18;
let slab = new Uint32Array(SLAB);
let slabUsed = 0;
/** Makes room for n runs at `slab[slabUsed..]` (a fresh slab, or a dedicated array when n is large). */
function slabReserve(n: number): void {
  if (slabUsed + n > slab.length) {
    slab = new Uint32Array(n > SLAB >>> 4 ? n : SLAB);
    slabUsed = 0;
  }
}
/** Hands out the n runs just written at `slab[slabUsed..]` (after {@link slabReserve}). */
function slabCommit(n: number): Uint32Array {
  const out = slab.subarray(slabUsed, slabUsed + n);
  slabUsed += n;
  return out;
}
/** A fresh Uint32Array of n runs holding src[0..n) (a view into a shared slab). */
function countsFrom(src: Uint32Array, n: number): Uint32Array {
  slabReserve(n);
  const base = slabUsed;
  const dst = slab;
  for (let i = 0; i < n; i++) dst[base + i] = src[i]!;
  return slabCommit(n);
}

// ---------------------------------------------------------------------------------------------------------------
// encode / decode / area / toBbox

/**
 * Run-length encodes a binary mask (any non-zero byte is foreground). `order` says how `mask` is laid out:
 * `'col'` (default) = column-major like pycocotools' Fortran arrays, `mask[x*h + y]`; `'row'` = row-major bitmaps
 * as produced by image code, `mask[y*w + x]`. The RLE itself is always column-major.
 */
export function encode(mask: ArrayLike<number>, h: number, w: number, order: MaskOrder = 'col'): Rle {
  checkSize(h, w, 'encode');
  const a = h * w;
  if (mask.length !== a) throw new RangeError(`encode: mask has ${mask.length} values, expected h*w = ${h}*${w} = ${a}`);
  const cnts = u32Scratch(a + 1);
  let k = 0;
  let p = 0; // current value (0/1)
  let c = 0; // length of the current run
  if (order === 'col') {
    for (let j = 0; j < a; j++) {
      const v = mask[j] !== 0 ? 1 : 0;
      if (v !== p) {
        cnts[k++] = c;
        c = 0;
        p = v;
      }
      c++;
    }
  } else if (order === 'row') {
    for (let x = 0; x < w; x++) {
      for (let idx = x; idx < a; idx += w) {
        const v = mask[idx] !== 0 ? 1 : 0;
        if (v !== p) {
          cnts[k++] = c;
          c = 0;
          p = v;
        }
        c++;
      }
    }
  } else {
    throw new RangeError(`encode: order must be 'col' or 'row', got ${String(order)}`);
  }
  cnts[k++] = c;
  return { h, w, counts: countsFrom(cnts, k) };
}

function countsSum(counts: Uint32Array): number {
  let s = 0;
  for (let i = 0; i < counts.length; i++) s += counts[i]!;
  return s;
}

/**
 * Expands an RLE to a 0/1 bitmap of h*w bytes, column-major (`'col'`, default) or row-major (`'row'`).
 * Throws when the runs do not cover exactly h*w pixels (pycocotools raises "Invalid RLE mask representation" when
 * they cover more, and leaves uninitialised memory when they cover less).
 */
export function decode(rle: Rle, order: MaskOrder = 'col'): Uint8Array {
  const { h, w, counts } = rle;
  checkSize(h, w, 'decode');
  const a = h * w;
  const total = countsSum(counts);
  if (total !== a) {
    throw new RangeError(`decode: invalid RLE: runs cover ${total} pixels but the mask is ${h}x${w} = ${a} pixels`);
  }
  const out = new Uint8Array(a);
  if (order === 'col') {
    let pos = 0;
    for (let j = 0; j < counts.length; j++) {
      const c = counts[j]!;
      if (j & 1) {
        if (c > 256) out.fill(1, pos, pos + c);
        else for (let i = pos; i < pos + c; i++) out[i] = 1;
      }
      pos += c;
    }
  } else if (order === 'row') {
    let pos = 0;
    for (let j = 0; j < counts.length; j++) {
      const c = counts[j]!;
      if (j & 1 && c > 0) {
        let y = pos % h;
        let x = (pos - y) / h;
        for (let t = 0; t < c; t++) {
          out[y * w + x] = 1;
          if (++y === h) {
            y = 0;
            x++;
          }
        }
      }
      pos += c;
    }
  } else {
    throw new RangeError(`decode: order must be 'col' or 'row', got ${String(order)}`);
  }
  return out;
}

/** Number of foreground pixels (sum of the odd-indexed runs), as maskApi `rleArea`. */
export function area(rle: Rle): number {
  const c = rle.counts;
  let s = 0;
  for (let j = 1; j < c.length; j += 2) s += c[j]!;
  return s;
}

/**
 * Bounding box `[x, y, w, h]` of the foreground, exactly as pycocotools 2.0.11 `rleToBbox`: an all-background mask
 * gives `[0, 0, 0, 0]`; a foreground run that spans several columns widens the box to the full height
 * (`y = 0, h = H`), even if the run itself does not cover the full column range; zero-length foreground runs are
 * skipped (and an RLE whose foreground runs are all empty but which has ≥ 2 runs yields maskApi's unsigned-wrapped
 * values, reproduced here).
 */
export function toBbox(rle: Rle): [number, number, number, number] {
  const h = rle.h >>> 0;
  const w = rle.w >>> 0;
  const cnts = rle.counts;
  const m = Math.floor(cnts.length / 2) * 2;
  if (m === 0) return [0, 0, 0, 0];
  let xs = w;
  let ys = h;
  let xe = 0;
  let ye = 0;
  let cc = 0;
  for (let j = 0; j < m; j++) {
    const start = cc;
    cc = (cc + cnts[j]!) >>> 0;
    if ((j & 1) === 0) continue;
    if (cnts[j] === 0) continue;
    const yStart = start % h;
    const xStart = (start - yStart) / h;
    const yEnd = (cc - 1) % h;
    const xEnd = (cc - 1 - yEnd) / h;
    if (xStart < xs) xs = xStart;
    if (xEnd > xe) xe = xEnd;
    if (xStart < xEnd) {
      ys = 0;
      ye = h - 1;
    } else {
      if (yStart < ys) ys = yStart;
      if (yEnd > ye) ye = yEnd;
    }
  }
  return [xs, ys, (xe - xs + 1) >>> 0, (ye - ys + 1) >>> 0];
}

// ---------------------------------------------------------------------------------------------------------------
// compressed string form

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

// ---------------------------------------------------------------------------------------------------------------
// polygons and boxes

/** C's `(int)d` on x86-64 (cvttsd2si): truncation toward zero; NaN and out-of-range give INT_MIN. */
function cInt(d: number): number {
  return d > -2147483649 && d < 2147483648 ? Math.trunc(d) : -2147483648;
}

let polyX = new Int32Array(64);
let polyY = new Int32Array(64);
let polyPos = new Uint32Array(4096);
let radixTmp = new Uint32Array(4096);
const radixCount = new Int32Array(256);

/** Ascending sort of a[0..n) (LSD radix sort on bytes; insertion sort for short inputs). */
function sortU32(a: Uint32Array, n: number): void {
  if (n < 48) {
    for (let i = 1; i < n; i++) {
      const v = a[i]!;
      let j = i - 1;
      while (j >= 0 && a[j]! > v) {
        a[j + 1] = a[j]!;
        j--;
      }
      a[j + 1] = v;
    }
    return;
  }
  let max = 0;
  for (let i = 0; i < n; i++) if (a[i]! > max) max = a[i]!;
  if (radixTmp.length < n) radixTmp = new Uint32Array(Math.max(n, radixTmp.length * 2));
  let src: Uint32Array = a;
  let dst: Uint32Array = radixTmp;
  const count = radixCount;
  for (let shift = 0; shift < 32 && max >>> shift !== 0; shift += 8) {
    count.fill(0);
    for (let i = 0; i < n; i++) count[(src[i]! >>> shift) & 255]++;
    let sum = 0;
    for (let b = 0; b < 256; b++) {
      const c = count[b]!;
      count[b] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const v = src[i]!;
      dst[count[(v >>> shift) & 255]++] = v;
    }
    const t = src;
    src = dst;
    dst = t;
  }
  if (src !== a) a.set(src.subarray(0, n));
}

let sortTmp = new Uint32Array(4096);
let sortKey = new Int32Array(4096);
let sortCount = new Int32Array(1024);

/**
 * Ascending sort of the crossing positions a[0..n) (values x*h + y, y in [0, h]): bucket by column
 * floor(v / h) (counting sort), then insertion sort, which only has the few in-column inversions left to fix.
 */
function sortCrossings(a: Uint32Array, n: number, h: number): void {
  if (n < 32) {
    sortU32(a, n);
    return;
  }
  if (sortKey.length < n) {
    sortKey = new Int32Array(Math.max(n, sortKey.length * 2));
    sortTmp = new Uint32Array(sortKey.length);
  }
  const key = sortKey;
  let kmin = 2147483647;
  let kmax = -1;
  for (let i = 0; i < n; i++) {
    const k = Math.floor(a[i]! / h);
    key[i] = k;
    if (k < kmin) kmin = k;
    if (k > kmax) kmax = k;
  }
  const nk = kmax - kmin + 1;
  if (nk > 4 * n + 1024) {
    sortU32(a, n); // sparse columns: radix sort is cheaper
    return;
  }
  if (sortCount.length < nk + 1) sortCount = new Int32Array(Math.max(nk + 1, sortCount.length * 2));
  const count = sortCount;
  count.fill(0, 0, nk + 1);
  for (let i = 0; i < n; i++) count[key[i]! - kmin + 1]++;
  for (let b = 1; b <= nk; b++) count[b] += count[b - 1]!;
  const tmp = sortTmp;
  for (let i = 0; i < n; i++) tmp[count[key[i]! - kmin]++] = a[i]!;
  for (let i = 0; i < n; i++) {
    const v = tmp[i]!;
    let j = i - 1;
    while (j >= 0 && a[j]! > v) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = v;
  }
}

/**
 * One step (uPrev, vPrev) → (u, v) of the outline walk on the 5× grid, u ≠ uPrev: if it crosses the centre line
 * of a pixel column inside the image, the column-major position x*h + y of the first pixel below the crossing;
 * otherwise -1. (maskApi's "get points along y-boundary and downsample" step, same double arithmetic.)
 */
function crossing(u: number, v: number, uPrev: number, vPrev: number, h: number, wMinus1: number): number {
  let xd = u < uPrev ? u : u - 1;
  xd = (xd + 0.5) / 5 - 0.5;
  if (Math.floor(xd) !== xd || xd < 0 || xd > wMinus1) return -1;
  let yd = v < vPrev ? v : vPrev;
  yd = (yd + 0.5) / 5 - 0.5;
  if (yd < 0) yd = 0;
  else if (yd > h) yd = h;
  yd = Math.ceil(yd);
  return (Math.imul(xd, h) + yd) >>> 0;
}

/** Most outline points frPoly will walk (pycocotools would allocate two int arrays of this length). */
const MAX_POLY_POINTS = 1 << 28;

/**
 * Rasterises one polygon `[x0, y0, x1, y1, …]` (pixel coordinates, COCO convention) exactly like maskApi
 * `rleFrPoly`: the outline is walked on a 5× upsampled integer grid (coordinates rounded with C's
 * `(int)(5*v + .5)`), crossings of pixel-column centres are collected, downsampled and turned into runs.
 * An odd trailing coordinate is ignored (as pycocotools' `int(len(p)/2)`); fewer than two points give an empty
 * mask. Coordinates must be finite with |5·v| < 2^31.
 *
 * Implementation: the walk and the crossing test are fused (no array of outline points), and the crossing
 * positions are radix-sorted; the output is identical to maskApi's.
 */
export function frPoly(xy: ArrayLike<number>, h: number, w: number): Rle {
  checkSize(h, w, 'frPoly');
  const k = Math.floor(xy.length / 2);
  const hw = (h * w) >>> 0;
  if (k === 0) return { h, w, counts: Uint32Array.of(hw) };
  if (polyX.length < k + 1) {
    polyX = new Int32Array(Math.max(k + 1, polyX.length * 2));
    polyY = new Int32Array(polyX.length);
  }
  const x = polyX;
  const y = polyY;
  for (let j = 0; j < k; j++) {
    const vx = 5 * xy[j * 2]! + 0.5;
    const vy = 5 * xy[j * 2 + 1]! + 0.5;
    if (!(Math.abs(vx) < 2147483648) || !(Math.abs(vy) < 2147483648)) {
      throw new RangeError(
        `frPoly: point ${j} (${String(xy[j * 2])}, ${String(xy[j * 2 + 1])}) is not finite or too far out (|5v| must be < 2^31)`,
      );
    }
    x[j] = Math.trunc(vx);
    y[j] = Math.trunc(vy);
  }
  x[k] = x[0]!;
  y[k] = y[0]!;
  let m = 0;
  for (let j = 0; j < k; j++) m += Math.max(Math.abs(x[j]! - x[j + 1]!), Math.abs(y[j]! - y[j + 1]!)) + 1;
  if (m > MAX_POLY_POINTS) throw new RangeError(`frPoly: polygon outline too long to rasterise (${m} points on the 5x grid)`);
  if (polyPos.length < m + 1) polyPos = new Uint32Array(Math.max(m + 1, polyPos.length * 2));
  const pos = polyPos;
  let np = 0;
  const wMinus1 = w === 0 ? 18446744073709551615 : w - 1; // size_t w-1 in C
  // walk the outline segment by segment (same points, same order as maskApi) and test each step for a crossing
  let pu = 0;
  let pv = 0;
  let started = false;
  for (let j = 0; j < k; j++) {
    let xs = x[j]!;
    let xe = x[j + 1]!;
    let ys = y[j]!;
    let ye = y[j + 1]!;
    const dx = Math.abs(xe - xs);
    const dy = Math.abs(ys - ye);
    const flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
    if (flip) {
      let t = xs;
      xs = xe;
      xe = t;
      t = ys;
      ys = ye;
      ye = t;
    }
    if (dx >= dy) {
      // Shallow segment: u moves by exactly 1 per step, so a step crosses a column centre only when the
      // column index it tests, (uPrev|u)-ish, is ≡ 2 (mod 5) — maskApi's `floor(xd) == xd` with
      // xd = (xi + .5)/5 - .5, which is exact for those xi and never integral for others (|xi| < 2^31).
      // Visit only those steps (every 5th); the first point is compared with the previous segment's end.
      const s = (ye - ys) / dx;
      const t0 = flip ? dx : 0;
      const u0 = t0 + xs;
      const v0 = cInt(ys + s * t0 + 0.5);
      if (started && u0 !== pu) {
        const c = crossing(u0, v0, pu, pv, h, wMinus1);
        if (c >= 0) pos[np++] = c;
      }
      started = true;
      if (dx > 0) {
        // step d-1 → d tests column xi = u_d - 1 going right (u_d = xs + d), xi = u_d going left (u_d = xs + dx - d)
        const u1 = flip ? xs + dx - 1 : xs + 1;
        const skip = flip ? (((u1 - 2) % 5) + 5) % 5 : (((3 - u1) % 5) + 5) % 5;
        for (let d = 1 + skip; d <= dx; d += 5) {
          const t = flip ? dx - d : d;
          const xd = flip ? (t + xs - 2) / 5 : (t + xs - 3) / 5;
          if (xd < 0 || xd > wMinus1) continue;
          const vv = cInt(ys + s * t + 0.5);
          const tp = flip ? t + 1 : t - 1;
          const vp = cInt(ys + s * tp + 0.5);
          let yd = vv < vp ? vv : vp;
          yd = (yd + 0.5) / 5 - 0.5;
          if (yd < 0) yd = 0;
          else if (yd > h) yd = h;
          yd = Math.ceil(yd);
          pos[np++] = (Math.imul(xd, h) + yd) >>> 0;
        }
        const tEnd = flip ? 0 : dx;
        pu = tEnd + xs;
        pv = cInt(ys + s * tEnd + 0.5);
      } else {
        pu = u0;
        pv = v0;
      }
    } else {
      const s = (xe - xs) / dy;
      for (let d = 0; d <= dy; d++) {
        const t = flip ? dy - d : d;
        const vv = t + ys;
        const uu = cInt(xs + s * t + 0.5);
        if (started && uu !== pu) {
          const c = crossing(uu, vv, pu, pv, h, wMinus1);
          if (c >= 0) pos[np++] = c;
        }
        pu = uu;
        pv = vv;
        started = true;
      }
    }
  }
  // sorted boundary positions → run lengths; coinciding positions cancel
  if (h > 0 && w > 0) {
    sortCrossings(pos, np, h); // every crossing is <= h*w: the end goes last
    pos[np++] = hw;
  } else {
    pos[np++] = hw;
    sortU32(pos, np);
  }
  slabReserve(np);
  const out = slab;
  const base = slabUsed;
  let nb = 1;
  out[base] = pos[0]!;
  let j = 1;
  while (j < np) {
    const delta = pos[j]! - pos[j - 1]!;
    j++;
    if (delta > 0) out[base + nb++] = delta;
    else if (j < np) {
      // two toggles at one position cancel: the next run continues the previous one
      out[base + nb - 1] += pos[j]! - pos[j - 1]!;
      j++;
    }
  }
  return { h, w, counts: slabCommit(nb) };
}

/** Rasterises the box `[x, y, w, h]` as the polygon (x,y)→(x,y+h)→(x+w,y+h)→(x+w,y), as maskApi `rleFrBbox`. */
export function frBbox(bb: ArrayLike<number>, h: number, w: number): Rle {
  if (bb.length < 4) throw new RangeError(`frBbox: a box needs 4 numbers [x, y, w, h], got ${bb.length}`);
  const xs = bb[0]!;
  const xe = xs + bb[2]!;
  const ys = bb[1]!;
  const ye = ys + bb[3]!;
  return frPoly([xs, ys, xs, ye, xe, ye, xe, ys], h, w);
}

// ---------------------------------------------------------------------------------------------------------------
// merge / IoU

let mergeA = new Uint32Array(1024);
let mergeB = new Uint32Array(1024);
/** A scratch buffer of at least n entries that is not `inUse` (merge ping-pongs between two). */
function mergeBuffer(n: number, inUse: Uint32Array): Uint32Array {
  const useA = inUse.buffer !== mergeA.buffer;
  let buf = useA ? mergeA : mergeB;
  if (buf.length < n) {
    buf = new Uint32Array(Math.max(n, buf.length * 2));
    if (useA) mergeA = buf;
    else mergeB = buf;
  }
  return buf;
}

/**
 * Union (default) or intersection of RLEs of the same size, as maskApi `rleMerge` (pairwise, left to right).
 * No RLE gives a 0×0 RLE with no runs; one RLE gives a copy. Throws on differing sizes (pycocotools silently
 * returns an empty 0×0 RLE there).
 */
export function merge(rles: readonly Rle[], intersect = false): Rle {
  const n = rles.length;
  if (n === 0) return { h: 0, w: 0, counts: new Uint32Array(0) };
  const first = rles[0]!;
  const h = first.h;
  const w = first.w;
  if (n === 1) return { h, w, counts: countsFrom(first.counts, first.counts.length) };
  let acc = first.counts;
  for (let i = 1; i < n; i++) {
    const B = rles[i]!;
    if (B.h !== h || B.w !== w) {
      throw new RangeError(`merge: RLE ${i} is ${B.h}x${B.w} but RLE 0 is ${h}x${w}; all RLEs must have the same size`);
    }
    const A = acc;
    const Bc = B.counts;
    const am = A.length;
    const bm = Bc.length;
    const out = mergeBuffer(am + bm + 1, acc);
    let ca = am > 0 ? A[0]! : 0;
    let cb = bm > 0 ? Bc[0]! : 0;
    let v = false;
    let va = false;
    let vb = false;
    let m = 0;
    let a = 1;
    let b = 1;
    let cc = 0;
    let ct = 1;
    while (ct > 0) {
      const c = ca < cb ? ca : cb;
      cc += c;
      ct = 0;
      ca -= c;
      if (!ca && a < am) {
        ca = A[a++]!;
        va = !va;
      }
      ct += ca;
      cb -= c;
      if (!cb && b < bm) {
        cb = Bc[b++]!;
        vb = !vb;
      }
      ct += cb;
      const vp: boolean = v;
      v = intersect ? va && vb : va || vb;
      if (v !== vp || ct === 0) {
        out[m++] = cc;
        cc = 0;
      }
    }
    acc = out.subarray(0, m);
  }
  return { h, w, counts: countsFrom(acc, acc.length) };
}

/** C's fmin/fmax (NaN loses against a number). */
function fmin(a: number, b: number): number {
  return a < b || b !== b ? a : b;
}
function fmax(a: number, b: number): number {
  return a > b || b !== b ? a : b;
}

function crowdFlags(iscrowd: ArrayLike<number | boolean>, n: number, fn: string): Uint8Array {
  if (iscrowd.length !== n) {
    throw new RangeError(`${fn}: iscrowd has ${iscrowd.length} entries but there are ${n} ground-truth objects`);
  }
  const f = new Uint8Array(n);
  for (let i = 0; i < n; i++) f[i] = iscrowd[i] ? 1 : 0;
  return f;
}

/** maskApi bbIou on packed boxes; writes o[d*n + g]. */
function bbIouInto(
  dt: ArrayLike<number>,
  gt: ArrayLike<number>,
  m: number,
  n: number,
  crowd: Uint8Array,
  o: Float64Array,
): void {
  for (let g = 0; g < n; g++) {
    const g0 = gt[g * 4]!;
    const g1 = gt[g * 4 + 1]!;
    const g2 = gt[g * 4 + 2]!;
    const g3 = gt[g * 4 + 3]!;
    const ga = g2 * g3;
    const gx2 = g2 + g0;
    const gy2 = g3 + g1;
    const isCrowd = crowd[g] === 1;
    for (let d = 0; d < m; d++) {
      const d0 = dt[d * 4]!;
      const d1 = dt[d * 4 + 1]!;
      const d2 = dt[d * 4 + 2]!;
      const d3 = dt[d * 4 + 3]!;
      const da = d2 * d3;
      const idx = d * n + g;
      o[idx] = 0;
      const iw = fmin(d2 + d0, gx2) - fmax(d0, g0);
      if (iw <= 0) continue;
      const ih = fmin(d3 + d1, gy2) - fmax(d1, g1);
      if (ih <= 0) continue;
      const i = iw * ih;
      const u = isCrowd ? da : da + ga - i;
      o[idx] = i / u;
    }
  }
}

/**
 * IoU of boxes packed as `[x, y, w, h]` × n (no +1), as maskApi `bbIou`. Result `[dt.length/4 × gt.length/4]`,
 * row-major (`o[d * nGt + g]`). For a crowd ground truth the union is the detection's area.
 */
export function bboxIou(dt: ArrayLike<number>, gt: ArrayLike<number>, iscrowd: ArrayLike<number | boolean>): Float64Array {
  if (dt.length % 4 !== 0 || gt.length % 4 !== 0) {
    throw new RangeError(`bboxIou: boxes must be packed [x, y, w, h]*n, got ${dt.length} and ${gt.length} numbers`);
  }
  const m = dt.length / 4;
  const n = gt.length / 4;
  const crowd = crowdFlags(iscrowd, n, 'bboxIou');
  const o = new Float64Array(m * n);
  if (m === 0 || n === 0) return o;
  bbIouInto(dt, gt, m, n, crowd, o);
  return o;
}

/**
 * Mask IoU as maskApi `rleIou`: `intersection / union`, or `intersection / area(dt)` for crowd ground truth.
 * Result `[dt.length × gt.length]`, row-major (`o[d * gt.length + g]`). As in maskApi the exact run walk is done
 * only where the boxes from {@link toBbox} overlap (box IoU > 0); pairs of different sizes that do overlap give −1.
 */
export function rleIou(dt: readonly Rle[], gt: readonly Rle[], iscrowd: ArrayLike<number | boolean>): Float64Array {
  const m = dt.length;
  const n = gt.length;
  const crowd = crowdFlags(iscrowd, n, 'rleIou');
  const o = new Float64Array(m * n);
  if (m === 0 || n === 0) return o;
  const db = new Float64Array(m * 4);
  const gb = new Float64Array(n * 4);
  for (let d = 0; d < m; d++) db.set(toBbox(dt[d]!), d * 4);
  for (let g = 0; g < n; g++) gb.set(toBbox(gt[g]!), g * 4);
  bbIouInto(db, gb, m, n, crowd, o);
  for (let g = 0; g < n; g++) {
    const G = gt[g]!;
    const gc = G.counts;
    const kb = gc.length;
    const isCrowd = crowd[g] === 1;
    for (let d = 0; d < m; d++) {
      const idx = d * n + g;
      if (!(o[idx]! > 0)) continue;
      const D = dt[d]!;
      if (D.h !== G.h || D.w !== G.w) {
        o[idx] = -1;
        continue;
      }
      const dc = D.counts;
      const ka = dc.length;
      let ca = ka > 0 ? dc[0]! : 0;
      let cb = kb > 0 ? gc[0]! : 0;
      let va = false;
      let vb = false;
      let a = 1;
      let b = 1;
      let inter = 0;
      let uni = 0;
      let ct = 1;
      while (ct > 0) {
        const c = ca < cb ? ca : cb;
        if (va || vb) {
          uni += c;
          if (va && vb) inter += c;
        }
        ct = 0;
        ca -= c;
        if (!ca && a < ka) {
          ca = dc[a++]!;
          va = !va;
        }
        ct += ca;
        cb -= c;
        if (!cb && b < kb) {
          cb = gc[b++]!;
          vb = !vb;
        }
        ct += cb;
      }
      if (inter === 0) uni = 1;
      else if (isCrowd) uni = area(D);
      o[idx] = inter / uni;
    }
  }
  return o;
}

// ---------------------------------------------------------------------------------------------------------------
// COCO segmentation objects

export interface AnnToRleOptions {
  /**
   * Polygon parts with fewer than 3 points (< 6 coordinates) are an error by default. With this flag they are
   * skipped instead (pycocotools rasterises such a part, when it is not the first one, to an empty mask, so the
   * result is the same; when it is the first part pycocotools crashes). The number skipped is reported through
   * `onDrop`.
   */
  dropDegeneratePolygons?: boolean;
  onDrop?: (part: number, coords: number) => void;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

/** Error from {@link annToRle}; `path` is the field path inside the segmentation, e.g. `[1][4]` or `.counts`. */
export class SegmentationError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`segmentation${path}: ${reason}`);
    this.name = 'SegmentationError';
  }
}

function checkRleSize(size: unknown, h: number, w: number): void {
  if (!Array.isArray(size) || size.length !== 2 || !Number.isInteger(size[0]) || !Number.isInteger(size[1])) {
    throw new SegmentationError('.size', `expected [height, width] (two integers), got ${describe(size)}`);
  }
  if (size[0] !== h || size[1] !== w) {
    throw new SegmentationError(
      '.size',
      `RLE size [${String(size[0])}, ${String(size[1])}] differs from the image size [height ${h}, width ${w}]`,
    );
  }
}

/**
 * Validates the structure of a COCO `segmentation` value against an image of h×w without rasterising it:
 * polygons (list of ≥ 6 finite coordinates each, even count), uncompressed RLE `{size, counts: number[]}` or
 * compressed RLE `{size, counts: string}` with `size == [h, w]`. Compressed strings are parsed later.
 * Returns the number of degenerate polygon parts when `allowDegenerate` (they are errors otherwise).
 */
export function checkSegmentation(segm: unknown, h: number, w: number, allowDegenerate = false): number {
  if (Array.isArray(segm)) {
    if (segm.length === 0) throw new SegmentationError('', 'empty polygon list');
    let degenerate = 0;
    for (let p = 0; p < segm.length; p++) {
      const poly: unknown = segm[p];
      if (!Array.isArray(poly)) {
        throw new SegmentationError(`[${p}]`, `a polygon must be an array of coordinates, got ${describe(poly)}`);
      }
      for (let i = 0; i < poly.length; i++) {
        const c: unknown = poly[i];
        if (typeof c !== 'number' || !Number.isFinite(c)) {
          throw new SegmentationError(`[${p}][${i}]`, `coordinate must be a finite number, got ${describe(c)}`);
        }
      }
      if (poly.length % 2 !== 0) {
        throw new SegmentationError(`[${p}]`, `polygon has an odd number of coordinates (${poly.length})`);
      }
      if (poly.length < 6) {
        if (!allowDegenerate) {
          throw new SegmentationError(
            `[${p}]`,
            `polygon has ${poly.length / 2} point(s) (${poly.length} coordinates); at least 3 points are needed` +
              ` (pycocotools rasterises it to nothing, or crashes when it is the first part)`,
          );
        }
        degenerate++;
      }
    }
    return degenerate;
  }
  if (segm !== null && typeof segm === 'object') {
    const o = segm as { size?: unknown; counts?: unknown };
    checkRleSize(o.size, h, w);
    const counts = o.counts;
    if (typeof counts === 'string') return 0;
    if (Array.isArray(counts)) {
      let total = 0;
      for (let i = 0; i < counts.length; i++) {
        const c: unknown = counts[i];
        if (typeof c !== 'number' || !Number.isInteger(c) || c < 0 || c >= UINT32) {
          throw new SegmentationError(`.counts[${i}]`, `run length must be a non-negative integer, got ${describe(c)}`);
        }
        total += c;
      }
      if (total !== h * w) {
        throw new SegmentationError('.counts', `runs cover ${total} pixels but the mask is ${h}x${w} = ${h * w} pixels`);
      }
      return 0;
    }
    throw new SegmentationError('.counts', `expected a compressed string or an array of run lengths, got ${describe(counts)}`);
  }
  throw new SegmentationError('', `expected a list of polygons or an RLE object {size, counts}, got ${describe(segm)}`);
}

/**
 * A COCO `segmentation` value as an RLE on an h×w image, as pycocotools `COCO.annToRLE`: polygon lists are
 * rasterised part by part ({@link frPoly}) and merged (union); uncompressed RLE (`counts` array) and compressed
 * RLE (`counts` string) are taken as they are. Validates first and throws {@link SegmentationError} (with the
 * field path) on anything malformed, including an RLE `size` different from [h, w].
 */
export function annToRle(segm: unknown, h: number, w: number, opts: AnnToRleOptions = {}): Rle {
  checkSize(h, w, 'annToRle');
  checkSegmentation(segm, h, w, opts.dropDegeneratePolygons === true);
  if (Array.isArray(segm)) {
    const parts: Rle[] = [];
    for (let p = 0; p < segm.length; p++) {
      const poly = segm[p] as number[];
      if (poly.length < 6) {
        opts.onDrop?.(p, poly.length);
        continue;
      }
      try {
        parts.push(frPoly(poly, h, w));
      } catch (e) {
        throw new SegmentationError(`[${p}]`, (e as Error).message);
      }
    }
    if (parts.length === 0) return { h, w, counts: Uint32Array.of(h * w) };
    return merge(parts);
  }
  const o = segm as { counts: string | number[] };
  if (typeof o.counts === 'string') {
    try {
      return rleFromString(o.counts, h, w);
    } catch (e) {
      throw new SegmentationError('.counts', (e as Error).message);
    }
  }
  return { h, w, counts: Uint32Array.from(o.counts) };
}
