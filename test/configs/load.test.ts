/**
 * configs/load.ts and the shipped configs: CONFIG as a name or a path (unknown names → the closest names), every
 * shipped config loads, validates and builds the detector it names, overrides are validated field by field, and
 * the hashes change exactly when the trained weights would.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  resolveNumClasses,
  buildModel,
  CONFIG_DIR,
  ConfigError,
  describeModel,
  diffConfigs,
  listConfigs,
  loadConfig,
  resolveConfigFile,
  trainingHash,
} from '../../configs/load.js';
import { CascadeRCNN } from '../../detectors/cascade-rcnn/cascade-rcnn.js';
import { MaskRCNN } from '../../detectors/mask-rcnn/mask-rcnn.js';
import { RetinaNet } from '../../detectors/retinanet/retinanet.js';
import { trackTensors } from '../nn/helpers.js';

trackTensors('test');

const tmp = mkdtempSync(join(tmpdir(), 'tiedet-configs-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function errorOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected an error');
}

const SHIPPED = [
  'cascade-mask-rcnn_r50_fpn_20e_coco',
  'cascade-mask-rcnn_r50_fpn_2x_coco',
  'cascade-mask-rcnn_tiedresnet50_fpn_20e_coco',
  'cascade-mask-rcnn_tiedresnet50_fpn_2x_coco',
  'cascade-mask-rcnn_tiedresnet_synthetic_tiny',
  'cascade-rcnn_r50_fpn_20e_coco',
  'cascade-rcnn_r50_fpn_2x_coco',
  'cascade-rcnn_tiedresnet50_fpn_20e_coco',
  'cascade-rcnn_tiedresnet50_fpn_2x_coco',
  'cascade-rcnn_tiedresnet_synthetic_tiny',
  'mask-rcnn_r50_fpn_2x_coco',
  'mask-rcnn_tiedresnet50_fpn_2x_coco',
  'mask-rcnn_tiedresnet_synthetic_tiny',
  'retinanet_r50_fpn_2x_coco',
  'retinanet_resnet_synthetic_tiny',
  'retinanet_tiedresnet50-s_fpn_2x_coco',
  'retinanet_tiedresnet50_fpn_2x_coco',
  'retinanet_tiedresnet_synthetic_tiny',
];

describe('resolving CONFIG', () => {
  it('lists the shipped configs (not the helpers)', () => {
    const names = listConfigs();
    for (const n of SHIPPED) expect(names).toContain(n);
    expect(names.some((n) => n.startsWith('_') || n === 'load')).toBe(false);
  });

  it('takes a name (with or without extension) or a path', () => {
    const f = resolveConfigFile('retinanet_tiedresnet_synthetic_tiny');
    expect(f).toBe(join(CONFIG_DIR, 'retinanet_tiedresnet_synthetic_tiny.ts'));
    expect(resolveConfigFile('retinanet_tiedresnet_synthetic_tiny.ts')).toBe(f);
    expect(resolveConfigFile('configs/retinanet_tiedresnet_synthetic_tiny.ts')).toBe(f);
  });

  it('unknown names and bad paths are one-line errors', async () => {
    expect(() => resolveConfigFile('retinanet_tiedresnet_synthetic_tin')).toThrow(
      /^CONFIG 'retinanet_tiedresnet_synthetic_tin': no such file, and no config of that name in .* — did you mean retinanet_tiedresnet_synthetic_tiny\b/,
    );
    expect(() => resolveConfigFile('nope/missing.ts')).toThrow("CONFIG 'nope/missing.ts': no such file");
    expect(() => resolveConfigFile(tmp)).toThrow(/is a folder, not a config file$/);
    const txt = join(tmp, 'cfg.txt');
    writeFileSync(txt, '');
    expect(() => resolveConfigFile(txt)).toThrow(/a config is a \.ts or \.js file, got '\.txt'$/);
    for (const msg of [await errorOf(loadConfig('nope')), await errorOf(loadConfig(txt))]) expect(msg).not.toContain('\n');
  });
});

describe('loading', () => {
  it('every shipped config loads, validates and builds its detector', async () => {
    for (const name of SHIPPED) {
      const cfg = await loadConfig(name);
      expect(cfg.name).toBe(name);
      const model = buildModel(cfg, name.includes('coco') ? undefined : 3);
      try {
        const cascade = name.startsWith('cascade-');
        const twoStage = cascade || name.startsWith('mask-rcnn');
        const mask = name.startsWith('mask-rcnn') || name.startsWith('cascade-mask-rcnn');
        expect(model).toBeInstanceOf(cascade ? CascadeRCNN : twoStage ? MaskRCNN : RetinaNet);
        expect(model.numClasses).toBe(name.includes('coco') ? 80 : 3);
        if (twoStage) expect((model as MaskRCNN | CascadeRCNN).config.test.rcnn.scoreThr).toBe(cfg.data.test.scoreThr);
        else expect((model as RetinaNet).config.test.scoreThr).toBe(cfg.data.test.scoreThr);
        if (cascade) expect((model as CascadeRCNN).roiHead.withMask).toBe(mask);
        expect(cfg.data.data.withMasks).toBe(mask);
        expect(cfg.data.train.evalMetrics).toEqual(mask ? ['bbox', 'segm'] : ['bbox']);
        const d = describeModel(model);
        expect(d.type).toBe(cascade ? 'CascadeRCNN' : twoStage ? 'MaskRCNN' : 'RetinaNet');
        if (name.includes('coco')) {
          expect(cfg.data.data.train.annFile).toBe('data/coco/annotations/instances_train2017.json');
          expect(cfg.data.data.batchSize * cfg.data.train.accumulate).toBe(16); // mmdetection's reference batch
          const schedule = name.includes('_20e_') ? { epochs: 20, milestones: [16, 19] } : { epochs: 24, milestones: [16, 22] };
          expect(cfg.data.train).toMatchObject({ lr: twoStage ? 0.02 : 0.01, ...schedule, warmupIters: 500, warmupRatio: 0.001 });
          expect(d.trainableParameters).toBeLessThan(d.parameters); // stem + layer1 frozen
        }
        // mmdetection's retinanet_r50_fpn_2x_coco: 37.97 M = R-50 without fc + FPN (P6 from C5) + RetinaHead (80 classes)
        if (name === 'retinanet_r50_fpn_2x_coco') expect(d.parameters).toBe(23_508_032 + 7_997_440 + 6_463_220);
      } finally {
        model.dispose();
      }
    }
  });

  it('applies --cfg-options and --seed, then validates the result', async () => {
    const cfg = await loadConfig('retinanet_tiedresnet_synthetic_tiny', { cfgOptions: ['train.lr=0.005', 'data.batchSize=4'], seed: 7 });
    expect(cfg.data.train.lr).toBe(0.005);
    expect(cfg.data.data.batchSize).toBe(4);
    expect(cfg.data.train.seed).toBe(7);
    expect(cfg.cfgOptions).toEqual(['train.lr=0.005', 'data.batchSize=4']);
    // the module's own object is not modified
    expect((await loadConfig('retinanet_tiedresnet_synthetic_tiny')).data.train.lr).not.toBe(0.005);

    expect(await errorOf(loadConfig('retinanet_tiedresnet_synthetic_tiny', { cfgOptions: ['data.batchSize=0'] }))).toMatch(
      /retinanet_tiedresnet_synthetic_tiny\.ts \(with the overrides\): data\.batchSize: expected an integer ≥ 1 and ≤ 1024, got 0$/,
    );
    expect(await errorOf(loadConfig('retinanet_tiedresnet_synthetic_tiny', { cfgOptions: ['data.scale=128'] }))).toMatch(
      /data\.scale: expected an array of 2 number\(s\), got \[128\]$/,
    );
    expect(await errorOf(loadConfig('retinanet_tiedresnet_synthetic_tiny', { cfgOptions: ['train.evalMetrics=box'] }))).toMatch(
      /train\.evalMetrics\[0\]: expected one of 'bbox', 'segm', got "box"$/,
    );
    expect(await errorOf(loadConfig('retinanet_tiedresnet_synthetic_tiny', { cfgOptions: ['model.numClasses=4'] }))).toMatch(
      /^--cfg-options model\.numClasses: the model is a factory in the config file/,
    );
  });

  it('loads a user config file; a broken one is a one-line error naming it', async () => {
    const good = join(tmp, 'mine.ts');
    writeFileSync(
      good,
      `import base from '${join(CONFIG_DIR, 'retinanet_tiedresnet_synthetic_tiny.ts')}';\n` +
        `export default { ...base, train: { ...base.train, lr: 0.001 } };\n`,
    );
    const cfg = await loadConfig(good);
    expect(cfg.name).toBe('mine');
    expect(cfg.data.train.lr).toBe(0.001);

    const noDefault = join(tmp, 'nodefault.ts');
    writeFileSync(noDefault, 'export const x = 1;\n');
    expect(await errorOf(loadConfig(noDefault))).toBe(`${noDefault}: expected a default export { model, data, train, test } (an ExperimentConfig), got no default export`);

    const syntax = join(tmp, 'syntax.ts');
    writeFileSync(syntax, 'export default {{;\n');
    const msg = await errorOf(loadConfig(syntax));
    expect(msg).toMatch(new RegExp(`^${syntax.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot load the config: `));
    expect(msg).not.toContain('\n');

    const badField = join(tmp, 'badfield.ts');
    writeFileSync(
      badField,
      `import base from '${join(CONFIG_DIR, 'retinanet_tiedresnet_synthetic_tiny.ts')}';\n` +
        `export default { ...base, data: { ...base.data, flipProb: 2 } };\n`,
    );
    const e = await loadConfig(badField).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as Error).message).toBe(`${badField}: data.flipProb: expected a finite number ≥ 0 and ≤ 1, got 2`);
  });
});

describe('numClasses', () => {
  it("'auto' follows the dataset; a pinned count must match it; --cfg-options sets it", async () => {
    const tiny = await loadConfig('retinanet_tiedresnet_synthetic_tiny');
    expect(tiny.data.numClasses).toBe('auto');
    expect(resolveNumClasses(tiny, 8, 'small.json')).toBe(8);
    expect(() => resolveNumClasses(tiny)).toThrow(/numClasses is 'auto' \(follows the dataset's categories\) and no dataset was given/);
    const pinned = await loadConfig('retinanet_tiedresnet_synthetic_tiny', { cfgOptions: ['numClasses=5'] });
    expect(pinned.data.numClasses).toBe(5);
    expect(resolveNumClasses(pinned)).toBe(5);
    expect(() => resolveNumClasses(pinned, 8, 'small.json')).toThrow(/numClasses is 5 but small\.json has 8 categories; set --cfg-options numClasses=8/);
    const coco = await loadConfig('mask-rcnn_r50_fpn_2x_coco');
    expect(coco.data.numClasses).toBe(80);
    const m = buildModel(tiny, 8);
    try {
      expect(m.numClasses).toBe(8);
    } finally {
      m.dispose();
    }
    expect(await errorOf(loadConfig('retinanet_tiedresnet_synthetic_tiny', { cfgOptions: ['numClasses=0'] }))).toMatch(/numClasses: expected 'auto'.*got 0/);
    expect(await errorOf(loadConfig('retinanet_tiedresnet_synthetic_tiny', { cfgOptions: ['numClasses=many'] }))).toMatch(/numClasses: expected 'auto'.*got "many"/);
  });
});

describe('hashes', () => {
  it('the training hash follows what changes the weights; the model hash only the model', async () => {
    const load = (o: string[]) => loadConfig('retinanet_tiedresnet_synthetic_tiny', { cfgOptions: o });
    const hashes = async (o: string[]) => {
      const cfg = await load(o);
      const model = buildModel(cfg, 3);
      try {
        const d = describeModel(model);
        return { train: trainingHash(cfg.data, d), model: d.modelHash };
      } finally {
        model.dispose();
      }
    };
    const ref = await hashes([]);
    // test-time and bookkeeping settings change neither
    expect(await hashes(['test.scoreThr=0.3', 'train.logEvery=5', 'data.workers=2', 'data.val.annFile=x.json', 'train.checkpoint.keepLast=9'])).toEqual(ref);
    // training settings change the training hash only
    const lr = await hashes(['train.lr=0.1']);
    expect(lr.train).not.toBe(ref.train);
    expect(lr.model).toBe(ref.model);
    // the seed changes the training hash; the model (architecture) stays
    const seed = await hashes(['train.seed=3']);
    expect(seed.train).not.toBe(ref.train);
    expect(seed.model).toBe(ref.model);
    // another backbone is another model
    const twin = await loadConfig('retinanet_resnet_synthetic_tiny');
    const m = buildModel(twin, 3);
    try {
      expect(describeModel(m).modelHash).not.toBe(ref.model);
    } finally {
      m.dispose();
    }
  });

  it('diffConfigs lists the differing leaves', () => {
    expect(diffConfigs({ a: { b: 1, c: [1, 2] }, d: 'x' }, { a: { b: 2, c: [1, 2] }, d: 'x', e: true })).toEqual(['a.b (1 → 2)', 'e (missing → true)']);
  });
});
