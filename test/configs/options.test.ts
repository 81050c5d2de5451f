/**
 * `--cfg-options a.b=c` (configs/_options.ts): values are parsed as the type of the field they replace, unknown
 * keys are errors listing the closest names, the model factory cannot be overridden, the input is not modified.
 */
import { describe, expect, it } from 'vitest';
import { applyCfgOptions, CfgOptionError, closestKeys, editDistance, splitOption } from '../../configs/_options.js';
import { syntheticData, testDefaults, trainSchedule } from '../../configs/_base.js';

const base = () => ({ data: syntheticData('d'), train: trainSchedule('2x', 0.01), test: testDefaults() });

function errorOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CfgOptionError);
    return (e as Error).message;
  }
  throw new Error('expected an error');
}

describe('applyCfgOptions', () => {
  it('parses each value as the type of the field it replaces', () => {
    const cfg = base();
    const out = applyCfgOptions(cfg, [
      'train.lr=0.005',
      'train.warmupIters=1e2',
      'train.validate=false',
      'data.train.annFile=/data/coco/ann.json',
      "data.val.imageDir='/with space/img'",
      'train.milestones=[8,11]',
      'data.scale=256,192',
      'train.evalMetrics=bbox,segm',
      'data.val={"annFile":"v.json","imageDir":"v"}',
      'train.checkpoint.best=',
    ]);
    expect(out.train.lr).toBe(0.005);
    expect(out.train.warmupIters).toBe(100);
    expect(out.train.validate).toBe(false);
    expect(out.data.train.annFile).toBe('/data/coco/ann.json');
    expect(out.data.val).toEqual({ annFile: 'v.json', imageDir: 'v' });
    expect(out.train.milestones).toEqual([8, 11]);
    expect(out.data.scale).toEqual([256, 192]);
    expect(out.train.evalMetrics).toEqual(['bbox', 'segm']);
    expect(out.train.checkpoint.best).toBe('');
    // the input is untouched, the rest is carried over
    expect(cfg.train.lr).toBe(0.01);
    expect(cfg.train.milestones).toEqual([16, 22]);
    expect(out.test).toEqual(cfg.test);
    // later overrides win
    expect(applyCfgOptions(cfg, ['train.lr=1', 'train.lr=2']).train.lr).toBe(2);
  });

  it('rejects values of the wrong type, naming the option', () => {
    const cfg = base();
    expect(errorOf(() => applyCfgOptions(cfg, ['train.lr=fast']))).toBe("--cfg-options train.lr: expected a number, got 'fast'");
    expect(errorOf(() => applyCfgOptions(cfg, ['train.lr=']))).toBe("--cfg-options train.lr: expected a number, got ''");
    expect(errorOf(() => applyCfgOptions(cfg, ['train.validate=yes']))).toBe("--cfg-options train.validate: expected true or false, got 'yes'");
    expect(errorOf(() => applyCfgOptions(cfg, ['train.milestones=8,x']))).toBe("--cfg-options train.milestones[1]: expected a number, got 'x'");
    expect(errorOf(() => applyCfgOptions(cfg, ['train.milestones=["8"]']))).toBe('--cfg-options train.milestones[0]: expected a number, got a string');
    expect(errorOf(() => applyCfgOptions(cfg, ['data.val={"annFile":1,"imageDir":"v"}']))).toBe(
      '--cfg-options data.val.annFile: expected a string, got a number',
    );
    expect(errorOf(() => applyCfgOptions(cfg, ['data.val={annFile}']))).toMatch(/^--cfg-options data\.val: '\{annFile\}' is not valid JSON/);
    expect(errorOf(() => applyCfgOptions(cfg, ['data.train.annFile.x=1']))).toBe(
      '--cfg-options data.train.annFile.x: data.train.annFile is a string, not an object with fields',
    );
  });

  it('names unknown keys with the closest existing ones', () => {
    const cfg = base();
    expect(errorOf(() => applyCfgOptions(cfg, ['train.lrr=0.1']))).toMatch(/^--cfg-options train\.lrr: unknown key 'lrr' in train — did you mean train\.lr\b.*\(train has: optimizer, lr, momentum/);
    expect(errorOf(() => applyCfgOptions(cfg, ['train.batchSize=4']))).toMatch(/did you mean .*data\.batchSize/);
    expect(errorOf(() => applyCfgOptions(cfg, ['trian.lr=4']))).toMatch(/unknown key 'trian' — did you mean train\b/);
    expect(errorOf(() => applyCfgOptions(cfg, ['data.val={"annfile":"a","imageDir":"b"}']))).toMatch(/data\.val: unknown key 'annfile' — did you mean annFile\?/);
  });

  it('refuses reserved keys and malformed options', () => {
    const cfg = base();
    expect(errorOf(() => applyCfgOptions(cfg, ['model.numClasses=3'], { model: 'edit the config file' }))).toBe(
      '--cfg-options model.numClasses: edit the config file',
    );
    expect(errorOf(() => applyCfgOptions(cfg, ['train.lr']))).toBe("--cfg-options 'train.lr': expected KEY=VALUE, e.g. train.lr=0.01");
    expect(errorOf(() => applyCfgOptions(cfg, ['train..lr=1']))).toBe("--cfg-options 'train..lr=1': the key 'train..lr' has an empty part");
  });
});

describe('helpers', () => {
  it('splitOption keeps "=" inside the value', () => {
    expect(splitOption('data.train.annFile=a=b.json')).toEqual({ path: ['data', 'train', 'annFile'], value: 'a=b.json' });
  });
  it('editDistance and closestKeys', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(closestKeys('train.lrr', ['train.lr', 'train.gamma', 'data.scale'])).toEqual(['train.lr']);
    expect(closestKeys('zzzzzz', ['train.lr'])).toEqual([]);
  });
});
