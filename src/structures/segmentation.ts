/**
 * COCO segmentation objects (a list of polygons, an uncompressed RLE `{size, counts: number[]}` or a compressed one
 * `{size, counts: string}`) to an RLE, as pycocotools `annToRLE`, with validation that names the malformed field.
 */
import { frPoly } from './rle-polygon.js';
import { merge } from './rle-merge.js';
import type { Rle } from './rle.js';
import { checkSize, UINT32 } from './rle-memory.js';
import { rleFromString } from './rle-string.js';

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