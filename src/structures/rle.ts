/**
 * COCO run-length encoding (RLE) with the behaviour of pycocotools 2.0.11 (`maskApi.c`, `_mask.pyx`, `mask.py`):
 * the types and encode / decode / area / toBbox. The rest of the codec lives beside this file: the compressed string
 * form (rle-string.ts), polygons and boxes (rle-polygon.ts), union / intersection (rle-merge.ts) and COCO
 * segmentation objects (segmentation.ts). Evaluation's IoUs are in eval/iou.ts.
 *
 * An {@link Rle} holds *uncompressed* run lengths over the mask in column-major (Fortran) order, starting with a
 * run of zeros (possibly of length 0): `counts = [zeros, ones, zeros, …]`. The compressed form used in COCO JSON
 * and in detections (`{"size": [h, w], "counts": "…"}`, {@link CompressedRle}) is produced by `rleToString` and
 * read by `rleFromString` (rle-string.ts).
 *
 * Everything here works on typed arrays; no per-pixel objects are created.
 * Integer arithmetic follows the C code (32-bit unsigned / signed wrap where maskApi relies on it, C's truncating
 * double→int conversion), and every floating-point expression is evaluated in the same order as in C, so results
 * are bit-identical to pycocotools (IEEE double, no FMA contraction — as in pycocotools' x86-64 builds).
 * Pure TypeScript: no TF.js, no Node APIs.
 */
import { checkSize, countsFrom, u32Scratch } from './rle-memory.js';

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
