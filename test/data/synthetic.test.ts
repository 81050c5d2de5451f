/**
 * The synthetic occlusion dataset end to end, through the library API (`generateSynthetic`) on small runs of the
 * presets: valid COCO (eval/coco.ts loads it with no error), bbox = toBbox(mask) and area = mask area for every
 * annotation, modal masks that never overlap within an image, amodal boxes that contain the modal ones, the stored
 * occlusion ratio = boxOcclusionRatio of the boxes, every occlusion bin covered and ≥ 10 % of images at r ≥ 0.8,
 * lossless PNGs equal to the in-memory render, byte-identical files for the same seed and different ones for
 * another, and a refusal to write over an existing dataset without `overwrite`.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CocoDataset } from '../../eval/coco.js';
import { area, decode, toBbox } from '../../src/structures/rle.js';
import { boxOcclusionRatio } from '../../eval/occlusion.js';
import { readImage } from '../../data/image.js';
import {
  datasetFiles,
  generateSynthetic,
  SplitGenerator,
  SyntheticOutputError,
  type SyntheticResult,
} from '../../data/synthetic/index.js';
import { occlusionBin } from '../../data/synthetic/placement.js';

const root = mkdtempSync(join(tmpdir(), 'tiedet-synthetic-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function sha256OfFiles(dir: string): Map<string, string> {
  return new Map(datasetFiles(dir).map((f) => [f, createHash('sha256').update(readFileSync(join(dir, f))).digest('hex')]));
}

describe('synthetic dataset (tiny preset, 60 images)', () => {
  let result: SyntheticResult;
  const out = join(root, 'tiny-a');
  beforeAll(async () => {
    const progress: number[] = [];
    result = await generateSynthetic({ preset: 'tiny', out, images: 60, seed: 11, onProgress: (p) => progress.push(p.done) });
    expect(progress.length).toBe(60);
  });

  it('writes the COCO layout', () => {
    expect(result.config).toMatchObject({ preset: 'tiny', size: 128, train: 48, val: 12, seed: 11 });
    const files = datasetFiles(out);
    expect(files.filter((f) => f.startsWith('train/'))).toHaveLength(48);
    expect(files.filter((f) => f.startsWith('val/'))).toHaveLength(12);
    expect(files).toContain('annotations/instances_train.json');
    expect(files).toContain('annotations/instances_val.json');
    expect(files).toContain('README.md');
    const readme = readFileSync(join(out, 'README.md'), 'utf8');
    expect(readme).toContain('circle, square, triangle');
    expect(readme).toContain(`| [0.9, 1.0] | ${result.stats.train.occlusionHistogram[9]} | ${result.stats.val.occlusionHistogram[9]} |`);
  });

  for (const split of ['train', 'val'] as const) {
    it(`${split}: loads with eval/coco.ts; boxes, areas, masks and ratios are consistent`, () => {
      const ds = CocoDataset.fromFile(result.annotationFiles[split]);
      expect(ds.images.size).toBe(split === 'train' ? 48 : 12);
      expect([...ds.categories.values()].map((c) => c.name)).toEqual(['circle', 'square', 'triangle']);
      expect(ds.annotations.length).toBe(result.stats[split].annotations);
      const ids = new Set(ds.annotations.map((a) => a.id));
      expect(ids.size).toBe(ds.annotations.length);
      for (const img of ds.images.values()) {
        expect([img.width, img.height]).toEqual([128, 128]);
        const anns = ds.annsByImage(img.id);
        expect(anns.length).toBeGreaterThanOrEqual(1);
        const cover = new Uint8Array(128 * 128);
        for (const a of anns) {
          expect(a.iscrowd).toBe(0);
          const rle = ds.rle(a);
          expect(a.bbox).toEqual(toBbox(rle));
          expect(a.area).toBe(area(rle));
          expect(a.area).toBeGreaterThanOrEqual(16);
          const amodal = a.amodal_bbox as number[];
          const [x, y, w, h] = a.bbox;
          expect(x >= amodal[0]! && y >= amodal[1]! && x + w <= amodal[0]! + amodal[2]! && y + h <= amodal[1]! + amodal[3]!).toBe(true);
          expect(a.area).toBeGreaterThanOrEqual(0.2 * (a.amodal_area as number));
          const bits = decode(rle);
          for (let p = 0; p < bits.length; p++) cover[p]! += bits[p]!;
        }
        expect(Math.max(...cover), `image ${img.id}: modal masks overlap`).toBeLessThanOrEqual(1);
        expect(img.occlusion_ratio).toBe(boxOcclusionRatio(anns.flatMap((a) => a.bbox)));
      }
    });
  }

  it('the occlusion ratios cover every bin, with ≥ 10 % of images at r ≥ 0.8', () => {
    const ds = CocoDataset.fromFile(result.annotationFiles.train);
    const hist = new Array(10).fill(0);
    for (const img of ds.images.values()) hist[occlusionBin(img.occlusion_ratio as number)]++;
    expect(hist).toEqual(result.stats.train.occlusionHistogram);
    expect(Math.min(...hist)).toBeGreaterThanOrEqual(4);
    expect(result.stats.train.atLeast08 / 48).toBeGreaterThanOrEqual(0.1);
    expect(result.stats.train.missedTarget + result.stats.val.missedTarget).toBe(0);
  });

  it('PNGs are lossless copies of the in-memory render', async () => {
    const gen = new SplitGenerator(result.config, 'val');
    for (const i of [0, 7]) {
      const img = await readImage(join(out, 'val', gen.fileName(i)), { expectWidth: 128, expectHeight: 128 });
      const scene = gen.render(i);
      expect(Buffer.from(img.data).equals(Buffer.from(scene.image.data))).toBe(true);
      const ds = CocoDataset.fromFile(result.annotationFiles.val);
      expect(ds.annsByImage(i + 1).map((a) => a.bbox)).toEqual(scene.objects.map((o) => o.bbox));
    }
  });

  it('same seed → byte-identical files; another seed → different files', async () => {
    const again = join(root, 'tiny-b');
    const other = join(root, 'tiny-c');
    await generateSynthetic({ preset: 'tiny', out: again, images: 60, seed: 11 });
    await generateSynthetic({ preset: 'tiny', out: other, images: 60, seed: 12 });
    const a = sha256OfFiles(out);
    expect(a.size).toBe(63);
    expect(sha256OfFiles(again)).toEqual(a);
    const c = sha256OfFiles(other);
    expect([...c.keys()]).toEqual([...a.keys()]);
    const same = [...a].filter(([f, h]) => c.get(f) === h).map(([f]) => f);
    expect(same).toEqual([]);
  });

  it('refuses to write over an existing dataset unless asked', async () => {
    await expect(generateSynthetic({ preset: 'tiny', out, images: 4 })).rejects.toThrow(SyntheticOutputError);
    await expect(generateSynthetic({ preset: 'tiny', out, images: 4 })).rejects.toThrow(/already holds a dataset .*--overwrite/);
    const r = await generateSynthetic({ preset: 'tiny', out: join(root, 'tiny-b'), images: 4, overwrite: true });
    expect(datasetFiles(r.out)).toHaveLength(4 + 3);
    const file = join(root, 'a-file');
    writeFileSync(file, 'not a folder');
    await expect(generateSynthetic({ preset: 'tiny', out: file, images: 4 })).rejects.toThrow(/a-file: exists and is not a folder/);
  });
});

describe('synthetic dataset (small preset, 40 images)', () => {
  it('has all 8 classes and COCO small, medium and large objects at 256×256', async () => {
    const r = await generateSynthetic({ preset: 'small', out: join(root, 'small'), images: 40 });
    expect(r.config.size).toBe(256);
    const ds = CocoDataset.fromFile(r.annotationFiles.train);
    expect(ds.categories.size).toBe(8);
    expect(r.stats.train.perClass.every((n) => n > 0)).toBe(true);
    const { small, medium, large } = r.stats.train.areaRanges;
    expect(small > 0 && medium > 0 && large > 0).toBe(true);
    expect(r.stats.train.objectsPerImage.max).toBeGreaterThanOrEqual(6);
    expect(Math.min(...r.stats.train.occlusionHistogram)).toBeGreaterThanOrEqual(3);
  });
});
