/**
 * Union and intersection of COCO RLEs (pycocotools `rleMerge`).
 * Integer arithmetic follows the C code (32-bit unsigned / signed wrap where maskApi relies on it, C's truncating
 * double→int conversion), and every floating-point expression is evaluated in the same order as in C, so results
 * are bit-identical to pycocotools (IEEE double, no FMA contraction — as in pycocotools' x86-64 builds).
 * Pure TypeScript: no TF.js, no Node APIs.
 */
import type { Rle } from './rle.js';
import { countsFrom } from './rle-memory.js';

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

