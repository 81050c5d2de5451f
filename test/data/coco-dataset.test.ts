/** data/coco-dataset.ts: labels, crowd → ignore, mmdet training filters, test mode keeps everything. */
import { describe, expect, it } from 'vitest';
import { CocoDetectionDataset } from '../../data/coco-dataset.js';
import { CocoFormatError } from '../../eval/coco.js';

const img = (id: number, w = 64, h = 48) => ({ id, width: w, height: h, file_name: `${id}.png` });
const ann = (id: number, imageId: number, catId: number, bbox: number[], more: Record<string, unknown> = {}) => ({
  id,
  image_id: imageId,
  category_id: catId,
  bbox,
  area: bbox[2]! * bbox[3]!,
  iscrowd: 0,
  segmentation: [[bbox[0]!, bbox[1]!, bbox[0]! + bbox[2]!, bbox[1]!, bbox[0]! + bbox[2]!, bbox[1]! + bbox[3]!]],
  ...more,
});
const json = {
  images: [img(1), img(2), img(3), img(4, 64, 20), img(5)],
  categories: [
    { id: 9, name: 'nine' },
    { id: 2, name: 'two' },
    { id: 4, name: 'four' },
  ],
  annotations: [
    ann(1, 1, 9, [1, 2, 10, 20]),
    ann(2, 1, 2, [5, 5, 0.5, 10]), // narrower than 1 px: dropped in training
    ann(3, 1, 4, [0, 0, 30, 30], { iscrowd: 1, segmentation: { size: [48, 64], counts: [0, 3072] } }), // crowd → ignore
    ann(4, 2, 4, [2, 2, 8, 8], { iscrowd: 1 }), // only crowd: no usable GT
    ann(5, 3, 2, [100, 100, 5, 5]), // outside the 64×48 image
    ann(6, 4, 9, [1, 1, 5, 5]), // image shorter side 20 < 32
    ann(7, 5, 9, [1, 1, 5, 5], { ignore: 1 }),
    ann(8, 5, 4, [3, 3, 10, 10], { area: 0 }),
  ],
};

describe('CocoDetectionDataset', () => {
  it('maps category ids to contiguous labels in ascending id order', async () => {
    const ds = await CocoDetectionDataset.fromJson(json, 'mem.json', { imageDir: '/data', mode: 'test' });
    expect(ds.catIds).toEqual([2, 4, 9]);
    expect(ds.classNames).toEqual(['two', 'four', 'nine']);
    expect(ds.numClasses).toBe(3);
    expect(ds.labelOf(9)).toBe(2);
    expect(ds.labelOf(7)).toBeUndefined();
  });

  it('training: boxes as xyxy, crowd as ignore boxes, mmdet filters applied and counted', async () => {
    const ds = await CocoDetectionDataset.fromJson(json, 'mem.json', { imageDir: '/data', withMasks: true });
    expect(ds.samples.map((s) => s.imageId)).toEqual([1]);
    const s = ds.samples[0]!;
    expect(s.file).toBe('/data/1.png');
    expect(s.record).toBe('images[0] (id 1)');
    expect(Array.from(s.boxes)).toEqual([1, 2, 11, 22]);
    expect(Array.from(s.labels)).toEqual([2]);
    expect(s.annIds).toEqual([1]);
    expect(Array.from(s.ignoreBoxes)).toEqual([0, 0, 30, 30]);
    expect(s.segmentations).toHaveLength(1);
    expect(ds.filtered).toEqual({ ignoreFlag: 1, outsideImage: 1, smallBox: 1, zeroArea: 1, emptyImages: 3, smallImages: 1 });
    expect(ds.skipped.total).toBe(0);
    expect(ds.coco.annotations).toHaveLength(8); // the validated file itself is complete (for evaluation)
  });

  it('minSize and filterEmptyGt can be changed', async () => {
    const ds = await CocoDetectionDataset.fromJson(json, 'mem.json', { imageDir: '/d', minSize: 0, filterEmptyGt: false });
    expect(ds.samples.map((s) => s.imageId)).toEqual([1, 2, 3, 4, 5]);
    expect(ds.samples[1]!.labels.length).toBe(0);
    expect(ds.samples[1]!.ignoreBoxes.length).toBe(4);
  });

  it('test mode keeps every image and annotation', async () => {
    const ds = await CocoDetectionDataset.fromJson(json, 'mem.json', { imageDir: '/d', mode: 'test' });
    expect(ds.samples.map((s) => s.imageId)).toEqual([1, 2, 3, 4, 5]);
    expect(ds.samples.reduce((n, s) => n + s.labels.length, 0)).toBe(6);
    expect(ds.samples.reduce((n, s) => n + s.ignoreBoxes.length / 4, 0)).toBe(2);
    expect(ds.samples[0]!.segmentations).toBeNull();
  });

  it('structural problems are errors even with onBad skip', async () => {
    await expect(CocoDetectionDataset.fromJson({ images: {}, categories: [] }, 'x.json', { imageDir: '.', onBad: 'skip' })).rejects.toThrow(
      'x.json: images: expected an array, got an object',
    );
    await expect(CocoDetectionDataset.fromJson({ images: [img(1)] }, 'x.json', { imageDir: '.' })).rejects.toThrow(
      'x.json: categories: expected an array, got nothing (missing)',
    );
    // image info without annotations (a test-dev style file) is fine in test mode
    const info = await CocoDetectionDataset.fromJson({ images: [img(1)], categories: [] }, 'x.json', { imageDir: '.', mode: 'test' });
    expect(info.samples).toHaveLength(1);
    await expect(CocoDetectionDataset.fromJson([], 'x.json', { imageDir: '.' })).rejects.toBeInstanceOf(CocoFormatError);
  });
});
