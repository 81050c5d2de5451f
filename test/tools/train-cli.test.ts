/**
 * `tiedet train` / `tiedet test` end to end through the CLI (spawned from source): a run stopped by --max-iters and
 * continued with --resume keeps counting iterations and does not restart the learning-rate warm-up; `tiedet test`
 * writes COCO results that eval/ loads and prints pycocotools' summary; bad CONFIG names, a checkpoint of another
 * model and a checkpoint whose tensors do not fit are one-line errors with a non-zero exit code.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CocoDataset } from '../../eval/coco.js';
import { lrAt } from '../../src/train/lr-schedule.js';
import { CliError } from '../../tools/cli-error.js';
import { runTest, type TestArgs } from '../../tools/test.js';
import { runTrain } from '../../tools/train.js';
import { runCli } from './run-cli.js';
import { trackTensors } from '../nn/helpers.js';
import { tinyFixture, type TinyFixture } from './train-fixture.js';

const CONFIG = 'retinanet_tiedresnet_synthetic_tiny';
trackTensors('file');

let fx: TinyFixture;
let work: string;
beforeAll(async () => {
  fx = await tinyFixture(['train.epochs=1', 'train.milestones=[]', 'train.evalEveryEpochs=1']);
  work = join(fx.dir, 'run');
});
afterAll(() => fx?.cleanup());

const cfgArgs = () => ['--cfg-options', ...fx.cfgOptions];
const oneLineError = (stderr: string): string => {
  const lines = stderr.trim().split('\n').filter((l) => l.startsWith('tiedet: '));
  expect(lines, stderr).toHaveLength(1);
  return lines[0]!;
};

describe('tiedet train → resume → test', () => {
  it('resumes where it stopped (iterations continue, lr not restarted) and tests the result', () => {
    const a = runCli(['train', CONFIG, '--work-dir', work, '--max-iters', '2', ...cfgArgs()], {}, 120_000);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toContain('train stopped after --max-iters 2: 2/4 iterations');
    expect(a.stdout).toContain(`work dir:   ${work}`);
    const b = runCli(['train', CONFIG, '--work-dir', work, '--resume', ...cfgArgs()], {}, 120_000);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stderr).toContain('resumed from');
    expect(b.stdout).toMatch(/train finished: 4\/4 iterations/);
    expect(b.stdout).toMatch(/last evaluation: bbox_mAP \d/);

    const log = readFileSync(join(work, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number | string>);
    const train = log.filter((l) => l.mode === 'train');
    expect(train.map((l) => l.iter)).toEqual([1, 2, 3, 4]);
    expect(log.findIndex((l) => l.mode === 'resume')).toBe(log.findIndex((l) => l.iter === 3) - 2); // resume, run, then iteration 3
    const resolved = JSON.parse(readFileSync(join(work, 'config.json'), 'utf8')) as { config: { train: Parameters<typeof lrAt>[0] & Record<string, unknown> } };
    const t = resolved.config.train as unknown as { lr: number; warmupIters: number; warmupRatio: number; milestones: number[]; gamma: number; epochs: number };
    const schedule = { baseLr: t.lr, warmup: { startFactor: t.warmupRatio, begin: 0, end: t.warmupIters }, milestones: t.milestones, gamma: t.gamma, epochs: t.epochs };
    train.forEach((l) => expect(l.lr).toBeCloseTo(lrAt(schedule, (l.iter as number) - 1, 0), 12));
    expect(train[2]!.lr).toBeGreaterThan(train[1]!.lr as number); // the warm-up continues after the resume

    const out = join(fx.dir, 'results.json');
    const occ = join(fx.dir, 'occ');
    // after 4 iterations few scores pass mmdetection's 0.05: keep every candidate (up to 100 per image)
    const c = runCli(['test', CONFIG, work, '--out', out, '--eval', 'bbox', '--occlusion-report', occ, '--bootstrap', '0', ...cfgArgs(), 'test.scoreThr=0'], {}, 120_000);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/wrote \d+ detections on 4 images/);
    expect(c.stdout).toContain(' Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = ');
    expect(existsSync(join(occ, 'report.html'))).toBe(true);
    const gt = CocoDataset.fromFile(join(fx.dir, 'data/annotations/instances_val.json'));
    const dt = gt.loadRes(out);
    expect(dt.annotations.length).toBeGreaterThan(0);
    expect(new Set(dt.annotations.map((a) => a.category_id)).size).toBeGreaterThan(0);
    for (const a of dt.annotations) expect([1, 2, 3]).toContain(a.category_id);
  });

  it('bad CONFIG names are one-line usage errors', () => {
    const bad = runCli(['train', 'retinanet_tiedresnet_synthetic_tin']);
    expect(bad.code).toBe(2);
    expect(oneLineError(bad.stderr)).toMatch(/^tiedet: CONFIG 'retinanet_tiedresnet_synthetic_tin': no such file, .* did you mean retinanet_tiedresnet_synthetic_tiny/);
  });

  it('refuses bad options and checkpoints of another model with one-line errors (in-process)', async () => {
    const quiet = () => {};
    const errorOf = async (p: Promise<unknown>): Promise<CliError> => {
      const e = await p.then(() => null, (x: unknown) => x);
      expect(e).toBeInstanceOf(CliError);
      expect((e as CliError).message).not.toContain('\n');
      return e as CliError;
    };
    const opt = await errorOf(runTrain({ config: CONFIG, 'cfg-options': ['train.lrr=1'] }, quiet, quiet));
    expect(opt.exitCode).toBe(2);
    expect(opt.message).toMatch(/^--cfg-options train\.lrr: unknown key 'lrr' in train — did you mean train\.lr/);

    const missing = await errorOf(runTrain({ config: CONFIG, 'cfg-options': [...fx.cfgOptions, 'data.train.annFile=nowhere/a.json'] }, quiet, quiet));
    expect(missing.exitCode).toBe(1);
    expect(missing.message).toMatch(/^data\.train\.annFile: nowhere\/a\.json does not exist \(synthetic configs: `tiedet make-synthetic/);

    // the ResNet twin on the TiedResNet checkpoint: the config.json next to it shows another model
    const out = join(fx.dir, 'twin.json');
    const test = (ckpt: string, extra: Partial<TestArgs> = {}) =>
      runTest({ config: 'retinanet_resnet_synthetic_tiny', checkpoint: ckpt, out, 'cfg-options': fx.cfgOptions, ...extra }, quiet, quiet);
    const twin = await errorOf(test(work));
    expect(twin.exitCode).toBe(1);
    expect(twin.message).toMatch(/the checkpoint holds a different model \(RetinaNet from retinanet_tiedresnet_synthetic_tiny, model hash [0-9a-f]+\) than retinanet_resnet_synthetic_tiny builds/);

    // the checkpoint alone (no config.json): the hash differs → error; forced, the tensors do not fit → error
    const alone = join(fx.dir, 'alone');
    mkdirSync(alone);
    for (const f of readdirSync(work)) if (/^iter_4\./.test(f)) copyFileSync(join(work, f), join(alone, f));
    const hash = await errorOf(test(join(alone, 'iter_4.json')));
    expect(hash.message).toMatch(/iter_4\.json: the checkpoint was trained with config [0-9a-f]{16}, retinanet_resnet_synthetic_tiny resolves to [0-9a-f]{16} \(no config\.json/);
    const keys = await errorOf(test(join(alone, 'iter_4.json'), { 'allow-config-change': true }));
    expect(keys.message).toMatch(/iter_4\.weights\.safetensors: Error\(s\) in loading state dict for RetinaNet: .*(missing|unexpected) key\(s\)/);
    expect(existsSync(out)).toBe(false);
  });
});
