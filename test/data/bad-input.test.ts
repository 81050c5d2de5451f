/**
 * The bad-input corpus (test/fixtures/bad-data, made by make-corpus.ts): every case stops with one clear error
 * naming the file, the record and the field — or, with onBad 'skip', is left out and counted. Nothing hangs.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CocoDetectionDataset } from '../../data/coco-dataset.js';
import { DataLoader } from '../../data/loader.js';
import { formatSkipSummary } from '../../data/skip.js';
import { CocoFormatError } from '../../eval/coco.js';

const dir = fileURLToPath(new URL('../fixtures/bad-data/', import.meta.url));
const at = (name: string) => `${dir}${name}`;
/** A small network input: these tests are about errors, not about the 1333×800 recipe. */
const SMALL = [160, 128] as const;

/** Loads a case and runs one test-mode epoch in-process; returns the error. */
async function failure(name: string, checkImages = false): Promise<Error> {
  try {
    const ds = await CocoDetectionDataset.load(at(name), { imageDir: dir, mode: 'test', withMasks: true, checkImages });
    const loader = new DataLoader(ds, { batchSize: 2, scale: SMALL });
    for await (const b of loader.hostBatches()) expect(b.metas.length).toBeGreaterThan(0);
  } catch (e) {
    return e as Error;
  }
  throw new Error(`${name}: expected an error`);
}

// [case file, record, field, reason]
const annotationCases: [string, string, string, RegExp][] = [
  ['unknown-image.json', 'annotations[3] (id 10, image 99)', 'image_id', /image 99 is not in 'images'/],
  ['unknown-category.json', 'annotations[3] (id 10, image 1)', 'category_id', /category 7 is not in 'categories'/],
  ['negative-size.json', 'annotations[3] (id 10, image 1)', 'bbox', /negative box size \(width -5, height 10\)/],
  ['polygon-2-points.json', 'annotations[3] (id 10, image 1)', 'segmentation[0]', /polygon has 2 point\(s\).*at least 3 points/],
  ['rle-size-mismatch.json', 'annotations[3] (id 10, image 1)', 'segmentation.size', /RLE size \[10, 10\] differs from the image size \[height 48, width 64\]/],
  ['duplicate-annotation-id.json', 'annotations[3] (id 2, image 1)', 'id', /duplicate annotation id 2 \(also annotations\[1\]\)/],
  ['duplicate-image-id.json', 'images[1] (id 2)', 'id', /duplicate image id 2 \(also images\[3\]\)/],
];
const imageCases: [string, RegExp][] = [
  ['missing-image.json', /no-such-file\.png: image file not found/],
  ['corrupt-jpeg.json', /corrupt\.jpg: not a readable image: .*JPEG/],
  ['truncated-png.json', /truncated\.png: corrupt or truncated image/],
  ['huge-image.json', /huge-header\.png: image header declares 20000×20000/],
  ['size-mismatch.json', /good-landscape\.png: image is 64×48 \(after EXIF orientation\) but 100×100 was expected/],
  ['not-an-image.json', /not-an-image\.jpg: not a readable image/],
];

describe('bad input → a clear error naming file, record and field', () => {
  it('invalid JSON names the line and column', async () => {
    const e = await failure('invalid-json.json');
    expect(e).toBeInstanceOf(CocoFormatError);
    expect(e.message).toMatch(/invalid-json\.json: invalid JSON \(line 1, column 35\)/);
  });

  it.each(annotationCases)('%s', async (name, record, field, reason) => {
    const e = await failure(name);
    expect(e).toBeInstanceOf(CocoFormatError);
    expect(e.message.startsWith(`${at(name)}: ${record}.${field}: `)).toBe(true);
    expect(e.message).toMatch(reason);
    expect(e.message).not.toContain('\n');
  });

  it.each(imageCases)('%s (found while loading, and by checkImages before)', async (name, reason) => {
    for (const checkImages of [false, true]) {
      const e = await failure(name, checkImages);
      expect(e).toBeInstanceOf(CocoFormatError);
      expect(e.message.startsWith(`${at(name)}: images[3] (id 10).file_name: `)).toBe(true);
      expect(e.message).toMatch(reason);
      expect(e.message).not.toContain('\n');
    }
  });
});

describe("onBad: 'skip' leaves bad records and files out and counts them", () => {
  const datasetCounts = {
    'duplicate image id': 2,
    'unknown image': 2, // the annotation to image 99 and the good annotation of the ambiguous image 2
    'unknown category': 1,
    'negative box size': 1,
    'polygon with < 3 points': 1,
    'RLE size differs from image': 1,
    'duplicate annotation id': 1,
  };
  const fileCounts = { 'missing image file': 1, 'unreadable image': 2, 'corrupt image': 1, 'image too large': 1, 'image size mismatch': 1 };

  it('records in the dataset, files in the loader (0 and 1 workers give the same batches)', async () => {
    const ds = await CocoDetectionDataset.load(at('all-bad.json'), { imageDir: dir, mode: 'test', withMasks: true, onBad: 'skip' });
    expect(ds.skipped.byReason).toEqual(datasetCounts);
    expect(ds.skipped.total).toBe(9);
    expect(ds.skipped.examples[0]).toMatch(/all-bad\.json: images\[1\] \(id 2\)\.id: duplicate image id 2/);
    expect(formatSkipSummary(ds.skipped)).toMatch(/^skipped 9 bad items: 2 duplicate image id, 2 unknown image, 1 unknown category/);
    const seen: number[][] = [];
    for (const workers of [0, 1]) {
      const loader = new DataLoader(ds, { batchSize: 3, onBad: 'skip', workers, scale: SMALL });
      const ids: number[] = [];
      try {
        for await (const b of loader.hostBatches()) ids.push(...b.metas.map((m) => m.imageId));
      } finally {
        await loader.close();
      }
      expect(loader.skipped.byReason).toEqual(fileCounts);
      expect(loader.skipped.total).toBe(6);
      seen.push(ids.sort((a, b) => a - b));
    }
    expect(seen[0]).toEqual([1, 3]);
    expect(seen[1]).toEqual(seen[0]);
  });

  it('checkImages finds the file problems before training (only the truncated body is left to the loader)', async () => {
    const ds = await CocoDetectionDataset.load(at('all-bad.json'), { imageDir: dir, mode: 'test', withMasks: true, onBad: 'skip', checkImages: true });
    const { 'corrupt image': _, ...headerFound } = fileCounts;
    expect(ds.skipped.byReason).toEqual({ ...datasetCounts, ...headerFound });
    const loader = new DataLoader(ds, { onBad: 'skip', scale: SMALL });
    let n = 0;
    for await (const b of loader.hostBatches()) n += b.metas.length;
    expect(n).toBe(2);
    expect(loader.skipped.byReason).toEqual({ 'corrupt image': 1 });
  });
});
