/**
 * data/loader.ts: seeded plans with aspect-ratio grouping, a sample round-tripping file → batch tensor → original
 * coordinates, identical batches with 0, 1 and 2 workers, flat tensor count, early stop and close without hangs.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CocoDetectionDataset } from '../../data/coco-dataset.js';
import { writeImage } from '../../data/image.js';
import { DataLoader, type HostBatch } from '../../data/loader.js';
import { boxesToOriginal, maskToOriginal } from '../../data/transforms/inverse.js';
import { IMAGENET_MEAN, IMAGENET_STD } from '../../data/transforms/normalize.js';
import { WorkerPool } from '../../data/worker-pool.js';
import { decode } from '../../src/structures/rle.js';
import { frPoly } from '../../src/structures/rle-polygon.js';
import { setupBackend } from '../nn/helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'tiedet-loader-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A w×h image, dark background, one white axis-aligned rectangle [x, y, rw, rh]. */
function rectImage(w: number, h: number, [x, y, rw, rh]: number[]) {
  const data = new Uint8Array(w * h * 3).fill(20);
  for (let j = y!; j < y! + rh!; j++) data.fill(250, (j * w + x!) * 3, (j * w + x! + rw!) * 3);
  return { data, width: w, height: h };
}

const sizes: [number, number][] = [
  [64, 48],
  [48, 64],
  [60, 40],
  [40, 56],
  [64, 64],
  [50, 38],
  [36, 52],
];
let annFile = '';

beforeAll(async () => {
  const images = [];
  const annotations = [];
  for (let i = 0; i < sizes.length; i++) {
    const [w, h] = sizes[i]!;
    const box = [5 + i, 7, 20, 16];
    await writeImage(join(tmp, `${i}.png`), rectImage(w, h, box));
    images.push({ id: 100 + i, width: w, height: h, file_name: `${i}.png` });
    const [x, y, bw, bh] = box as [number, number, number, number];
    annotations.push({
      id: i + 1,
      image_id: 100 + i,
      category_id: 1 + (i % 2) * 4,
      bbox: box,
      area: bw * bh,
      iscrowd: 0,
      segmentation: [[x, y, x + bw, y, x + bw, y + bh, x, y + bh]],
    });
  }
  annFile = join(tmp, 'ann.json');
  writeFileSync(annFile, JSON.stringify({ images, annotations, categories: [{ id: 1, name: 'a' }, { id: 5, name: 'b' }] }));
});

const load = (mode: 'train' | 'test' = 'train') => CocoDetectionDataset.load(annFile, { imageDir: tmp, mode, withMasks: true, minSize: 0 });

describe('plan', () => {
  it('is seeded, groups by orientation, covers every sample once', async () => {
    const ds = await load();
    const L = new DataLoader(ds, { batchSize: 2, seed: 7 });
    const p0 = L.plan(0);
    expect(L.plan(0)).toEqual(p0);
    expect(new DataLoader(ds, { batchSize: 2, seed: 7 }).plan(0)).toEqual(p0);
    expect(L.plan(1)).not.toEqual(p0);
    expect(new DataLoader(ds, { batchSize: 2, seed: 8 }).plan(0)).not.toEqual(p0);
    const all = p0.flatMap((b) => b.items.map((it) => it.index)).sort();
    expect(all).toEqual([0, 1, 2, 3, 4, 5, 6]);
    const portrait = (i: number) => ds.samples[i]!.width < ds.samples[i]!.height;
    // full batches come from one bucket; only the leftovers at the end may mix
    const full = p0.filter((b) => b.items.length === 2);
    const mixed = full.filter((b) => portrait(b.items[0]!.index) !== portrait(b.items[1]!.index));
    expect(mixed.length).toBeLessThanOrEqual(1);
    if (mixed.length === 1) expect(p0.indexOf(mixed[0]!)).toBeGreaterThanOrEqual(p0.length - 2);
    for (const b of p0) {
      const rs = b.items.map((it) => ds.samples[it.index]!);
      expect(b.padSize.width % 32).toBe(0);
      expect(b.padSize.height % 32).toBe(0);
      expect(b.padSize.height).toBeGreaterThanOrEqual(800);
      expect(rs.length).toBeGreaterThan(0);
    }
    expect(new DataLoader(ds, { batchSize: 2, dropLast: true }).plan(0).every((b) => b.items.length === 2)).toBe(true);
    expect(p0.some((b) => b.items.some((it) => it.flip)) && p0.some((b) => b.items.some((it) => !it.flip))).toBe(true);
  });

  it('test datasets are neither shuffled nor flipped by default', async () => {
    const ds = await load('test');
    const p = new DataLoader(ds, { batchSize: 3, groupByAspectRatio: false }).plan(0);
    expect(p.map((b) => b.items.map((it) => it.index))).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
    expect(p.every((b) => b.items.every((it) => !it.flip))).toBe(true);
  });
});

describe('a sample round-trips file → batch tensor → original coordinates', () => {
  beforeAll(async () => {
    await setupBackend();
  });

  it.each([false, true])('at 1333×800, flipped: %s', async (flipped) => {
    const ds = await load('test');
    const L = new DataLoader(ds, { batchSize: 2, groupByAspectRatio: false, flipProb: flipped ? 1 : 0 });
    const before = tf.memory().numTensors;
    let checked = 0;
    for await (const batch of L.batches()) {
      const [n, H, W, C] = batch.images.shape;
      expect(C).toBe(3);
      const data = batch.images.dataSync();
      for (let k = 0; k < n; k++) {
        const meta = batch.metas[k]!;
        const t = batch.targets[k]!;
        const s = ds.samples.find((x) => x.imageId === meta.imageId)!;
        expect(meta.flipped).toBe(flipped);
        expect(meta.padSize).toEqual({ width: W, height: H });
        expect(meta.originalSize).toEqual({ width: s.width, height: s.height });
        expect(Math.max(meta.resizedSize.width, meta.resizedSize.height) <= 1333 && Math.min(meta.resizedSize.width, meta.resizedSize.height) <= 800).toBe(true);
        // the bright rectangle found in the tensor (red channel, normalised) is where the target box says
        const thr = (128 - IMAGENET_MEAN[0]) / IMAGENET_STD[0];
        let x0 = W;
        let y0 = H;
        let x1 = -1;
        let y1 = -1;
        for (let y = 0; y < H; y++) {
          for (let x = 0; x < W; x++) {
            if (data[((k * H + y) * W + x) * 3]! > thr) {
              x0 = Math.min(x0, x);
              y0 = Math.min(y0, y);
              x1 = Math.max(x1, x + 1);
              y1 = Math.max(y1, y + 1);
            }
          }
        }
        const b = t.boxes;
        for (const [found, want] of [[x0, b[0]], [y0, b[1]], [x1, b[2]], [y1, b[3]]] as const) expect(Math.abs(found - want!)).toBeLessThanOrEqual(1.5);
        // padding is exactly 0 after normalisation
        expect(data[((k * H + (H - 1)) * W + (W - 1)) * 3]).toBe(meta.resizedSize.height < H || meta.resizedSize.width < W ? 0 : data[((k * H + (H - 1)) * W + (W - 1)) * 3]);
        // back to the original image: the COCO box and mask
        const back = boxesToOriginal(t.boxes, meta);
        const [bx, by, bw, bh] = ds.coco.annotations.find((a) => a.image_id === meta.imageId)!.bbox;
        [bx, by, bx + bw, by + bh].forEach((v, i) => expect(back[i]).toBeCloseTo(v, 3));
        expect(t.masks!.length).toBe(H * W);
        const m = maskToOriginal(t.masks!, W, H, meta);
        const ref = decode(frPoly([bx, by, bx + bw, by, bx + bw, by + bh, bx, by + bh], s.height, s.width), 'row');
        expect(Array.from(m)).toEqual(Array.from(ref));
        expect(Array.from(t.labels)).toEqual([ds.labelOf(ds.coco.annotations.find((a) => a.image_id === meta.imageId)!.category_id)!]);
        checked++;
      }
      batch.images.dispose();
      expect(tf.memory().numTensors).toBe(before);
    }
    expect(checked).toBe(sizes.length);
  });
});

describe('workers', () => {
  const SMALL = [192, 160] as const;
  const collect = async (L: DataLoader, epoch: number): Promise<HostBatch[]> => {
    const out: HostBatch[] = [];
    for await (const b of L.hostBatches(epoch)) out.push(b);
    return out;
  };

  it('0, 1 and 2 workers give identical batches (two epochs)', async () => {
    const ds = await load();
    const runs: HostBatch[][] = [];
    for (const workers of [0, 1, 2]) {
      const L = new DataLoader(ds, { batchSize: 2, seed: 3, workers, prefetch: 2, scale: SMALL });
      try {
        runs.push([...(await collect(L, 0)), ...(await collect(L, 1))]);
      } finally {
        await L.close();
      }
    }
    expect(runs[0]!.length).toBe(8);
    expect(runs[0]!.some((b) => b.metas.some((m) => m.flipped))).toBe(true);
    // typed arrays compared as bytes (vitest's deep equality walks them element by element, slowly)
    const bytes = (a: ArrayBufferView | null) => (a ? Buffer.from(a.buffer, a.byteOffset, a.byteLength) : null);
    const view = (bs: HostBatch[]) =>
      bs.map((b) => ({
        index: b.index,
        shape: b.shape,
        skipped: b.skipped,
        metas: b.metas,
        data: bytes(b.data)!.toString('base64'),
        targets: b.targets.map((t) => [t.boxes, t.labels, t.ignoreBoxes, t.masks].map((a) => bytes(a)?.toString('base64'))),
      }));
    const ref = view(runs[0]!);
    expect(view(runs[1]!)).toEqual(ref);
    expect(view(runs[2]!)).toEqual(ref);
  });

  it('stopping early and closing does not hang; the loader restarts its workers on demand', async () => {
    const ds = await load();
    const L = new DataLoader(ds, { batchSize: 1, workers: 2, prefetch: 3, scale: SMALL });
    for await (const b of L.hostBatches()) {
      expect(b.metas).toHaveLength(1);
      break;
    }
    await L.close();
    expect((await collect(L, 0)).length).toBe(7);
    await L.close();
  });

  it('pool: errors come back as errors, close rejects pending work', async () => {
    const ds = await load();
    const pool = new WorkerPool(1);
    const s = ds.samples[0]!;
    const task = {
      imageId: s.imageId, file: s.file, width: s.width, height: s.height, boxes: s.boxes, labels: s.labels,
      ignoreBoxes: s.ignoreBoxes, segmentations: null, flip: false, scale: SMALL, padSize: { width: 32, height: 32 },
      mean: IMAGENET_MEAN, std: IMAGENET_STD, maxPixels: 1e8,
    };
    await expect(pool.run(task)).rejects.toThrow(/data worker: .*pad size 32×32 is smaller than the resized image 192×144/);
    const ok = await pool.run({ ...task, padSize: { width: 192, height: 160 } });
    expect(ok.image.length).toBe(192 * 160 * 3);
    const pending = expect(pool.run({ ...task, padSize: { width: 192, height: 160 } })).rejects.toThrow(/closed/);
    await pool.close();
    await pending;
    await expect(pool.run(task)).rejects.toThrow(/after close/);
  });

  it("a non-data error is never skipped, even with onBad 'skip'", async () => {
    const ds = await load();
    ds.samples[2]!.width += 1; // the file no longer matches → skipped as a bad image …
    const L = new DataLoader(ds, { batchSize: 7, onBad: 'skip', scale: SMALL, groupByAspectRatio: false });
    const got = await collect(L, 0);
    expect(got[0]!.metas).toHaveLength(6);
    expect(L.skipped.byReason).toEqual({ 'image size mismatch': 1 });
    ds.samples[2]!.width -= 1;
    (ds.samples[3] as { boxes: unknown }).boxes = null; // … but a programming error is thrown
    await expect(collect(L, 0)).rejects.toThrow(TypeError);
  });
});
