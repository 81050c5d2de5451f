/**
 * Training an experiment config through the library (tools/runner/run-train.ts, what `tiedet train` runs):
 * the `*_synthetic_tiny` preset trains on a small synthetic set and its loss decreases, evaluation on the val split
 * lands in log.jsonl with save-best, the resolved config is written, a run stopped mid-epoch and resumed ends with
 * bit-identical weights to an uninterrupted one (through the data loader adapter and RetinaNet), and the adapter
 * serves an epoch from any position exactly as the full epoch's tail. Tensor counts stay flat.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type LoadedConfig } from '../../configs/load.js';
import { loaderOptions, loaderTrainData, loadDataset } from '../../tools/runner/data.js';
import { DataLoader } from '../../data/loader.js';
import { trainExperiment } from '../../tools/runner/run-train.js';
import { testExperiment } from '../../tools/runner/run-test.js';
import { trackTensors } from '../nn/helpers.js';
import { tinyFixture, type TinyFixture } from './train-fixture.js';

trackTensors('test');

let fx: TinyFixture;
let cfg: LoadedConfig;
beforeAll(async () => {
  fx = await tinyFixture(['train.epochs=2', 'train.evalEveryEpochs=2']);
  cfg = await loadConfig('retinanet_tiedresnet_synthetic_tiny', { cfgOptions: fx.cfgOptions });
});
afterAll(() => fx?.cleanup());

const weightsHash = (ckptJson: string): string => (JSON.parse(readFileSync(ckptJson, 'utf8')) as { files: { weights: { sha256: string } } }).files.weights.sha256;

describe('loader as resumable TrainData (DataLoader.batches(epoch, start))', () => {
  it('serves an epoch from position s exactly as the tail of the full epoch', async () => {
    const ds = await loadDataset(cfg.data.data, 'train', 'train');
    const loader = new DataLoader(ds, loaderOptions(cfg.data.data, 'train', 0));
    const data = loaderTrainData(loader);
    expect(data.batchesPerEpoch).toBe(4);
    const collect = async (epoch: number, start: number) => {
      const out: string[] = [];
      for await (const b of data.batches(epoch, start)) {
        out.push(b.metas.map((m) => `${m.imageId}${m.flipped ? 'f' : ''}`).join(',') + `:${b.images.shape.join('x')}`);
        data.disposeBatch!(b);
      }
      return out;
    };
    const full = await collect(1, 0);
    expect(full).toHaveLength(4);
    expect(await collect(1, 3)).toEqual(full.slice(3));
    expect(await collect(1, 1)).toEqual(full.slice(1));
    expect(await collect(0, 0)).not.toEqual(full); // another epoch, another order
    expect(loader.plan(1)).toHaveLength(4); // the plan itself is whole
    const indices: number[] = [];
    for await (const b of loader.batches(1, 2)) {
      indices.push(b.index);
      b.images.dispose();
    }
    expect(indices).toEqual([2, 3]); // a batch's index is its position in the epoch's plan
    await expect(loader.batches(1, 5).next()).rejects.toThrow(/start must be an integer from 0 to 4/);
  });
});

describe('trainExperiment', () => {
  it('trains the tiny preset: the loss decreases, val mAP is logged, save-best and config.json are written', async () => {
    const losses: number[] = [];
    const counts: number[] = [];
    const workDir = join(fx.dir, 'full');
    const r = await trainExperiment(cfg, {
      workDir,
      progress: false,
      handleSigint: false,
      onIteration: (i) => {
        losses.push(i.losses.loss!);
        counts.push(tf.memory().numTensors);
      },
    });
    expect(r.status).toBe('completed');
    expect(r.iteration).toBe(8);
    expect(losses.every(Number.isFinite)).toBe(true);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const first = mean(losses.slice(0, 3));
    const last = mean(losses.slice(-3));
    console.info(`tiny preset, 8 iterations: loss ${first.toFixed(3)} → ${last.toFixed(3)}`);
    expect(last).toBeLessThan(0.8 * first);
    expect(new Set(counts.slice(2)).size, 'tensor count over the iterations').toBe(1);

    const log = readFileSync(r.logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const val = log.filter((l) => l.mode === 'val');
    expect(val).toHaveLength(1);
    expect(val[0]).toMatchObject({ iter: 8 });
    for (const k of ['bbox_mAP', 'bbox_mAP_50', 'bbox_mAP_75', 'bbox_mAP_s', 'bbox_mAP_m', 'bbox_mAP_l']) expect(typeof val[0]![k]).toBe('number');
    expect(r.best?.key).toBe('bbox_mAP');
    expect(existsSync(join(workDir, r.best!.checkpoint))).toBe(true);
    const resolved = JSON.parse(readFileSync(r.configFile, 'utf8')) as Record<string, unknown>;
    expect(resolved).toMatchObject({ name: 'retinanet_tiedresnet_synthetic_tiny', configHash: r.configHash, cfgOptions: fx.cfgOptions });
    expect((resolved.config as { data: { scale: number[] } }).data.scale).toEqual([64, 64]);

    // stop after 3 iterations (mid-epoch), resume: the same weights as the uninterrupted run
    const split = join(fx.dir, 'split');
    const a = await trainExperiment(cfg, { workDir: split, stopAfter: 3, progress: false, handleSigint: false });
    expect(a.status).toBe('stopped');
    expect(a.iteration).toBe(3);
    const b = await trainExperiment(cfg, { workDir: split, resume: true, progress: false, handleSigint: false });
    expect(b.status).toBe('completed');
    expect(b.resumedFrom).toBe(a.checkpoint);
    expect(weightsHash(b.checkpoint!)).toBe(weightsHash(r.checkpoint!));

    // resuming with other training settings is refused, naming what differs
    const other = await loadConfig('retinanet_tiedresnet_synthetic_tiny', { cfgOptions: [...fx.cfgOptions, 'train.lr=0.0005'] });
    await expect(trainExperiment(other, { workDir: split, resume: true, progress: false, handleSigint: false })).rejects.toThrow(
      /the checkpoint was trained with config [0-9a-f]{16}, this config resolves to [0-9a-f]{16} \(differs in train\.lr \(0\.001 → 0\.0005\)\); resume with the same config/,
    );
  });

  it('Mask R-CNN plugs in: trains through the same loop and tests with bbox and segm evaluation', async () => {
    const mcfg = await loadConfig('mask-rcnn_tiedresnet_synthetic_tiny', { cfgOptions: [...fx.cfgOptions, 'test.scoreThr=0'] });
    expect(mcfg.data.data.withMasks).toBe(true);
    const workDir = join(fx.dir, 'mask-rcnn');
    const r = await trainExperiment(mcfg, { workDir, stopAfter: 2, progress: false, handleSigint: false });
    expect(r.status).toBe('stopped');
    expect(r.model.type).toBe('MaskRCNN');
    const t = await testExperiment(mcfg, r.checkpoint!, { out: join(fx.dir, 'mask-rcnn.json'), eval: ['bbox', 'segm'] });
    expect(t.images).toBe(4);
    expect(t.detections).toBeGreaterThan(0);
    const results = JSON.parse(readFileSync(t.resultsFile, 'utf8')) as Array<{ segmentation?: { counts: string } }>;
    expect(results.every((x) => typeof x.segmentation?.counts === 'string')).toBe(true);
    expect(Object.keys(t.evaluation!.metrics)).toEqual(expect.arrayContaining(['bbox_mAP', 'segm_mAP', 'segm_mAP_50']));
  });
});
