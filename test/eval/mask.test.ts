/**
 * The COCO RLE codec (src/structures/rle*.ts, segmentation.ts) and eval/iou.ts against pycocotools 2.0.11: the 200 seeded cases of ../shared/coco/expected/rle_fixture_seed1.json
 * (masks, polygons, boxes, uncompressed RLE → compressed/uncompressed counts, area, toBbox, decoded masks,
 * union/intersection, IoU with and without crowd) must match EXACTLY — tolerance 0, IoUs included: maskApi
 * computes IoU as one IEEE double division of two integers (masks) or the same double expression (boxes), which
 * JavaScript evaluates bit-identically.
 */
import { describe, expect, it } from 'vitest';
import { annToRle } from '../../src/structures/segmentation.js';
import { area, decode, encode, toBbox, type Rle } from '../../src/structures/rle.js';
import { bboxIou, rleIou } from '../../eval/iou.js';
import { frBbox, frPoly } from '../../src/structures/rle-polygon.js';
import { merge } from '../../src/structures/rle-merge.js';
import { rleFromString, rleToString, toCompressed } from '../../src/structures/rle-string.js';
import { describeShared, readSharedJson } from './shared-coco.js';

interface FixtureInput {
  name: string;
  h: number;
  w: number;
  mask?: string[];
  polygons?: number[][];
  rle?: { size: [number, number]; counts: number[] };
  bbox?: number[];
}
interface FixtureCase {
  name: string;
  h: number;
  w: number;
  input_kind: 'mask' | 'polygons' | 'bbox' | 'rle_uncompressed';
  counts: string;
  uncompressed_counts: number[];
  area: number;
  toBbox: number[];
  decoded_sum: number;
  decoded: string[];
  reencode_equal: boolean;
  polygon_part_counts?: string[];
  polygon_part_areas?: number[];
}
interface FixtureGroup {
  h: number;
  w: number;
  names: string[];
  'iou_iscrowd0[dt,gt]': number[][];
  'iou_iscrowd1[dt,gt]': number[][];
  union: { counts: string; area: number };
  intersection: { counts: string; area: number };
}
interface Fixture {
  inputs: FixtureInput[];
  cases: FixtureCase[];
  groups: FixtureGroup[];
  box_iou: {
    boxes: number[][];
    'iou_iscrowd0[dt,gt]': number[][];
    iscrowd_alternating: number[];
    'iou_iscrowd_alternating[dt,gt]': number[][];
  };
}

function rowsToMask(rows: string[], h: number, w: number, order: 'col' | 'row'): Uint8Array {
  const m = new Uint8Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (rows[y]![x] === '1') m[order === 'col' ? x * h + y : y * w + x] = 1;
    }
  }
  return m;
}

function maskToRows(m: Uint8Array, h: number, w: number, order: 'col' | 'row'): string[] {
  const rows: string[] = [];
  for (let y = 0; y < h; y++) {
    let s = '';
    for (let x = 0; x < w; x++) s += m[order === 'col' ? x * h + y : y * w + x] ? '1' : '0';
    rows.push(s);
  }
  return rows;
}

/** The RLE of a fixture input, built with our API the way pycocotools built it. */
function inputToRle(inp: FixtureInput): Rle {
  if (inp.mask) return encode(rowsToMask(inp.mask, inp.h, inp.w, 'col'), inp.h, inp.w);
  if (inp.polygons) return annToRle(inp.polygons, inp.h, inp.w);
  if (inp.rle) return annToRle(inp.rle, inp.h, inp.w);
  if (inp.bbox) return frBbox(inp.bbox, inp.h, inp.w);
  throw new Error(`fixture input ${inp.name} has no known kind`);
}

function matrix(flat: Float64Array, rows: number, cols: number): number[][] {
  const out: number[][] = [];
  for (let r = 0; r < rows; r++) out.push(Array.from(flat.subarray(r * cols, (r + 1) * cols)));
  return out;
}

describeShared('mask API vs pycocotools 2.0.11 (rle_fixture_seed1.json, tolerance 0)', () => {
  const fx = readSharedJson<Fixture>('expected', 'rle_fixture_seed1.json');
  const byName = new Map<string, Rle>();
  for (const inp of fx.inputs) byName.set(inp.name, inputToRle(inp));

  it('has the 200 cases of all four input kinds', () => {
    expect(fx.cases).toHaveLength(200);
    expect(new Set(fx.cases.map((c) => c.input_kind))).toEqual(new Set(['mask', 'polygons', 'bbox', 'rle_uncompressed']));
  });

  it('counts (compressed and uncompressed), area, toBbox of every case', () => {
    for (const c of fx.cases) {
      const rle = byName.get(c.name)!;
      expect({ name: c.name, h: rle.h, w: rle.w }).toEqual({ name: c.name, h: c.h, w: c.w });
      expect([c.name, Array.from(rle.counts)]).toEqual([c.name, c.uncompressed_counts]);
      expect([c.name, rleToString(rle)]).toEqual([c.name, c.counts]);
      expect([c.name, area(rle)]).toEqual([c.name, c.area]);
      expect([c.name, toBbox(rle)]).toEqual([c.name, c.toBbox]);
    }
  });

  it('compressed strings parse back to the same runs', () => {
    for (const c of fx.cases) {
      const rle = rleFromString(c.counts, c.h, c.w);
      expect([c.name, Array.from(rle.counts)]).toEqual([c.name, c.uncompressed_counts]);
    }
  });

  it('decoded masks (column- and row-major), their sums, and re-encoding', () => {
    for (const c of fx.cases) {
      const rle = rleFromString(c.counts, c.h, c.w);
      const col = decode(rle);
      const row = decode(rle, 'row');
      expect([c.name, maskToRows(col, c.h, c.w, 'col')]).toEqual([c.name, c.decoded]);
      expect([c.name, maskToRows(row, c.h, c.w, 'row')]).toEqual([c.name, c.decoded]);
      expect([c.name, col.reduce((s, v) => s + v, 0)]).toEqual([c.name, c.decoded_sum]);
      expect([c.name, rleToString(encode(col, c.h, c.w)) === c.counts]).toEqual([c.name, c.reencode_equal]);
      expect([c.name, rleToString(encode(row, c.h, c.w, 'row'))]).toEqual([c.name, c.counts]);
    }
  });

  it('mask inputs encode identically from row-major bitmaps', () => {
    for (const inp of fx.inputs) {
      if (!inp.mask) continue;
      const rle = encode(rowsToMask(inp.mask, inp.h, inp.w, 'row'), inp.h, inp.w, 'row');
      expect([inp.name, Array.from(rle.counts)]).toEqual([inp.name, Array.from(byName.get(inp.name)!.counts)]);
    }
  });

  it('each polygon part rasterises as rleFrPoly (counts and area)', () => {
    let parts = 0;
    fx.inputs.forEach((inp, i) => {
      if (!inp.polygons) return;
      const c = fx.cases[i]!;
      const got = inp.polygons.map((p) => frPoly(p, inp.h, inp.w));
      expect([c.name, got.map(rleToString)]).toEqual([c.name, c.polygon_part_counts]);
      expect([c.name, got.map(area)]).toEqual([c.name, c.polygon_part_areas]);
      parts += got.length;
    });
    expect(parts).toBeGreaterThan(100);
  });

  it('union and intersection of each same-size group', () => {
    for (const g of fx.groups) {
      const rles = g.names.map((n) => byName.get(n)!);
      const u = merge(rles);
      const i = merge(rles, true);
      expect([g.h, g.w, rleToString(u), area(u)]).toEqual([g.h, g.w, g.union.counts, g.union.area]);
      expect([g.h, g.w, rleToString(i), area(i)]).toEqual([g.h, g.w, g.intersection.counts, g.intersection.area]);
    }
  });

  it('mask IoU matrices [dt, gt] with iscrowd all 0 and all 1, bit-exact', () => {
    let nonTrivial = 0;
    for (const g of fx.groups) {
      const rles = g.names.map((n) => byName.get(n)!);
      const n = rles.length;
      const iou0 = rleIou(rles, rles, new Array<number>(n).fill(0));
      const iou1 = rleIou(rles, rles, new Array<boolean>(n).fill(true));
      expect(matrix(iou0, n, n)).toEqual(g['iou_iscrowd0[dt,gt]']);
      expect(matrix(iou1, n, n)).toEqual(g['iou_iscrowd1[dt,gt]']);
      nonTrivial += Array.from(iou0).filter((v) => v > 0 && v < 1).length;
    }
    expect(nonTrivial).toBeGreaterThan(50);
  });

  it('box IoU of the 200 boxes, without crowd and with alternating crowd, bit-exact', () => {
    const b = fx.box_iou;
    const packed = Float64Array.from(b.boxes.flat());
    const n = b.boxes.length;
    expect(matrix(bboxIou(packed, packed, new Uint8Array(n)), n, n)).toEqual(b['iou_iscrowd0[dt,gt]']);
    expect(matrix(bboxIou(packed, packed, b.iscrowd_alternating), n, n)).toEqual(b['iou_iscrowd_alternating[dt,gt]']);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Properties and edge cases that need no fixture

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

describe('mask API round trips and edge cases', () => {
  it('encode/decode/string round trips on random masks, both orders', () => {
    const rnd = lcg(7);
    for (let t = 0; t < 200; t++) {
      const h = 1 + Math.floor(rnd() * 40);
      const w = 1 + Math.floor(rnd() * 40);
      const density = rnd();
      const blobby = rnd() < 0.5;
      const m = new Uint8Array(h * w);
      let v = 0;
      for (let i = 0; i < m.length; i++) {
        if (blobby ? rnd() < 0.1 : true) v = rnd() < density ? 1 : 0;
        m[i] = v;
      }
      for (const order of ['col', 'row'] as const) {
        const rle = encode(m, h, w, order);
        expect(decode(rle, order)).toEqual(m);
        const s = rleToString(rle);
        expect(rleFromString(s, h, w)).toEqual(rle);
        expect(area(rle)).toBe(m.reduce((a, b) => a + b, 0));
      }
      // row-major and column-major views of the same picture give the same RLE
      const t2 = new Uint8Array(h * w);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) t2[x * h + y] = m[y * w + x]!;
      expect(encode(t2, h, w, 'col')).toEqual(encode(m, h, w, 'row'));
    }
  });

  it('encodes large and negative deltas in the string form and reads them back', () => {
    const counts = Uint32Array.from([0, 1, 3_000_000_000, 5, 1_000_000, 2, 7, 10]); // deltas vs counts[i-2] go negative
    const total = counts.reduce((a, b) => a + b, 0);
    const rle: Rle = { h: 1, w: total, counts };
    expect(rleFromString(rleToString(rle), 1, total)).toEqual(rle);
  });

  it('empty and full masks', () => {
    expect(encode(new Uint8Array(0), 0, 0)).toEqual({ h: 0, w: 0, counts: Uint32Array.of(0) });
    expect(encode(new Uint8Array(6), 2, 3).counts).toEqual(Uint32Array.of(6));
    expect(encode(new Uint8Array(6).fill(1), 2, 3).counts).toEqual(Uint32Array.of(0, 6));
    expect(toBbox(encode(new Uint8Array(6), 2, 3))).toEqual([0, 0, 0, 0]);
    expect(toBbox(encode(new Uint8Array(6).fill(1), 2, 3))).toEqual([0, 0, 3, 2]);
    expect(encode(Uint8Array.of(0, 255, 7, 0), 2, 2).counts).toEqual(Uint32Array.of(1, 2, 1)); // non-zero = 1
  });

  it('toBbox: a run crossing columns spans the full height (2.0.11 rleToBbox)', () => {
    // 4x3 mask, column-major runs: 3 zeros, then 2 ones (rows 3 of column 0 and row 0 of column 1), 7 zeros
    expect(toBbox({ h: 4, w: 3, counts: Uint32Array.of(3, 2, 7) })).toEqual([0, 0, 2, 4]);
    expect(toBbox({ h: 4, w: 3, counts: Uint32Array.of(5, 2, 5) })).toEqual([1, 1, 1, 2]);
  });

  it('frBbox equals the box polygon; boxes outside the image are clipped', () => {
    expect(frBbox([1, 1, 2, 2], 5, 5)).toEqual(frPoly([1, 1, 1, 3, 3, 3, 3, 1], 5, 5));
    expect(area(frBbox([1, 1, 2, 2], 5, 5))).toBe(4);
    expect(toBbox(frBbox([-3, -3, 5, 5], 4, 4))).toEqual([0, 0, 2, 2]);
    expect(area(frBbox([10, 10, 5, 5], 4, 4))).toBe(0);
  });

  it('degenerate polygons: < 2 points give an empty mask, a there-and-back segment has no area', () => {
    expect(frPoly([], 3, 3).counts).toEqual(Uint32Array.of(9));
    expect(frPoly([1, 1], 3, 3).counts).toEqual(Uint32Array.of(9));
    expect(area(frPoly([0, 0, 2, 2], 3, 3))).toBe(0);
    expect(() => frPoly([0, 0, 1e12, 0, 0, 1], 3, 3)).toThrow(/too far out/);
  });

  it('merge: none, one (a copy), size mismatch throws', () => {
    expect(merge([])).toEqual({ h: 0, w: 0, counts: new Uint32Array(0) });
    const r = frBbox([0, 0, 2, 2], 4, 4);
    const c = merge([r]);
    expect(c).toEqual(r);
    expect(c.counts).not.toBe(r.counts);
    expect(() => merge([r, frBbox([0, 0, 2, 2], 4, 5)])).toThrow(/same size/);
  });

  it('IoU: empty inputs, crowd rule, iscrowd length check, different sizes give -1', () => {
    const a = frBbox([0, 0, 2, 2], 4, 4);
    const b = frBbox([0, 0, 4, 4], 4, 4);
    expect(rleIou([], [a], [0])).toEqual(new Float64Array(0));
    expect(Array.from(rleIou([a], [b], [0]))).toEqual([4 / 16]);
    expect(Array.from(rleIou([a], [b], [1]))).toEqual([1]); // inter / area(dt)
    expect(Array.from(rleIou([b], [a], [1]))).toEqual([4 / 16]);
    expect(() => rleIou([a], [b], [])).toThrow(/iscrowd has 0 entries/);
    expect(Array.from(rleIou([a], [frBbox([0, 0, 2, 2], 4, 5)], [0]))).toEqual([-1]);
    expect(Array.from(bboxIou([0, 0, 2, 2], [1, 1, 2, 2, 5, 5, 1, 1], [0, 1]))).toEqual([1 / 7, 0]);
    expect(Array.from(bboxIou([0, 0, 2, 2], [1, 1, 2, 2], [true]))).toEqual([1 / 4]);
    expect(() => bboxIou([0, 0, 2], [1, 1, 2, 2], [0])).toThrow(/packed/);
  });

  it('rleFromString rejects malformed strings with a clear message', () => {
    expect(() => rleFromString('1p', 1, 1)).toThrow(/character "p" at position 1/);
    expect(() => rleFromString('1 ', 1, 1)).toThrow(/character " " at position 1/);
    expect(() => rleFromString('0P', 1, 1)).toThrow(/ends inside a value/); // 'P' has the continuation bit
    expect(() => rleFromString('O', 1, 1)).toThrow(/run 0 \(position 0\) decodes to -1/);
    expect(() => rleFromString('14', 2, 3)).toThrow(/cover 5 pixels but size \[2, 3\] has 6/);
    expect(rleFromString('', 0, 5).counts).toEqual(new Uint32Array(0));
  });

  it('annToRle validates polygons and RLE objects with the field path', () => {
    expect(() => annToRle([], 4, 4)).toThrow(/empty polygon list/);
    expect(() => annToRle([[0, 0, 1, 1]], 4, 4)).toThrow(/segmentation\[0\]: polygon has 2 point\(s\)/);
    expect(() => annToRle([[0, 0, 1, 1, 2, 0], [1, 1]], 4, 4)).toThrow(/segmentation\[1\]: polygon has 1 point/);
    expect(() => annToRle([[0, 0, 1, 1, 2]], 4, 4)).toThrow(/odd number of coordinates/);
    expect(() => annToRle([[0, 0, 1, Number.NaN, 2, 0]], 4, 4)).toThrow(/segmentation\[0\]\[3\]: coordinate must be a finite number/);
    expect(() => annToRle([[0, 0, 1, '1', 2, 0]], 4, 4)).toThrow(/\[0\]\[3\]/);
    expect(() => annToRle({ size: [4, 5], counts: [20] }, 4, 4)).toThrow(/size \[4, 5\] differs from the image size/);
    expect(() => annToRle({ size: [4, 4], counts: [3, -1, 14] }, 4, 4)).toThrow(/counts\[1\]: run length must be a non-negative integer/);
    expect(() => annToRle({ size: [4, 4], counts: [3, 1] }, 4, 4)).toThrow(/runs cover 4 pixels/);
    expect(() => annToRle({ size: [4, 4], counts: 'x' }, 4, 4)).toThrow(/segmentation\.counts: .*character "x"/);
    expect(() => annToRle({ size: [4, 4] }, 4, 4)).toThrow(/segmentation\.counts: expected a compressed string/);
    expect(() => annToRle('abc', 4, 4)).toThrow(/expected a list of polygons or an RLE object/);
    // opt-in: degenerate parts are dropped and reported
    const dropped: number[] = [];
    const r = annToRle([[0, 0, 0, 3, 3, 3, 3, 0], [1, 1, 2, 2]], 4, 4, {
      dropDegeneratePolygons: true,
      onDrop: (p) => dropped.push(p),
    });
    expect(r).toEqual(frPoly([0, 0, 0, 3, 3, 3, 3, 0], 4, 4));
    expect(dropped).toEqual([1]);
  });

  it('annToRle: uncompressed and compressed RLE give the same runs; toCompressed is the JSON form', () => {
    const r = frPoly([0.5, 0.5, 0.5, 3.2, 2.7, 3.2], 5, 4);
    const un = { size: [5, 4], counts: Array.from(r.counts) };
    const co = toCompressed(r);
    expect(co).toEqual({ size: [5, 4], counts: rleToString(r) });
    expect(annToRle(un, 5, 4)).toEqual(r);
    expect(annToRle(co, 5, 4)).toEqual(r);
  });
});
