/**
 * `tiedet eval` through the real CLI (node --import tsx tools/cli.ts eval …): the 12-line summary exactly as
 * pycocotools prints it, the per-class table and --json; bad input → exit 1 and one line naming file, record and
 * field (no stack trace).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeShared, REPO_ROOT, sharedPath } from '../eval/shared-coco.js';
import { runCli } from './run-cli.js';

interface RefCase {
  name: string;
  stats: number[];
  summary: string[];
}
const reference = JSON.parse(readFileSync(resolve(REPO_ROOT, 'test/fixtures/eval/cocoeval_reference.json'), 'utf8')) as {
  cases: RefCase[];
};
const ref = (name: string) => reference.cases.find((c) => c.name === name)!;

const GT = sharedPath('val2014_100/instances_val2014_100.json');
const BBOX = sharedPath('val2014_100/instances_val2014_fakebbox100_results.json');
const SEGM = sharedPath('val2014_100/instances_val2014_fakesegm100_results.json');

function expectOneLineError(r: ReturnType<typeof runCli>, ...parts: (string | RegExp)[]): void {
  expectOneLineErrorCode(r, 1, ...parts);
}

function expectOneLineErrorCode(r: ReturnType<typeof runCli>, code: number, ...parts: (string | RegExp)[]): void {
  expect(r.code, r.stderr).toBe(code);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^tiedet: /);
  for (const p of parts) expect(lines[0]).toMatch(p);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
}

describeShared('tiedet eval', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tiedet-eval-'));
  const results = JSON.parse(readFileSync(BBOX, 'utf8')) as Record<string, unknown>[];
  const write = (name: string, value: unknown) => {
    const p = join(dir, name);
    writeFileSync(p, typeof value === 'string' ? value : JSON.stringify(value));
    return p;
  };

  it('bbox: prints the 12 pycocotools lines, the per-class table, and writes --json', () => {
    const out = join(dir, 'out', 'eval.json');
    const r = runCli(['eval', '--gt', GT, '--results', BBOX, '--iou', 'bbox', '--per-class', '--json', out]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines.slice(0, 12)).toEqual(ref('val2014_100.bbox').summary);
    expect(r.stdout).toMatch(/^category\s+id\s+gt\s+dets\s+AP\s+AP50\s+AP75\s+APs\s+APm\s+APl\s+AR100$/m);
    expect(r.stdout).toMatch(/^person\s+1\s+256\s+201\s+0\.533\s+0\.788\s+0\.596\s/m);
    const j = JSON.parse(readFileSync(out, 'utf8')) as {
      stats: Record<string, number>;
      statsArray: number[];
      perClass: { id: number; name: string; AP: number }[];
      params: { iouType: string; maxDets: number[]; iouThrs: number[] };
      counts: { images: number; gtAnnotations: number; detections: number };
    };
    expect(j.statsArray).toEqual(ref('val2014_100.bbox').stats);
    expect(j.stats.AP).toBe(ref('val2014_100.bbox').stats[0]);
    expect(j.perClass).toHaveLength(80);
    expect(j.perClass[0]).toMatchObject({ id: 1, name: 'person' });
    expect(j.params).toMatchObject({ iouType: 'bbox', maxDets: [1, 10, 100] });
    expect(j.params.iouThrs[8]).toBe(0.8999999999999999);
    expect(j.counts).toEqual({ images: 100, categories: 80, gtAnnotations: 839, detections: 734 });
  });

  it('segm with --max-dets 1,10,300: AP@100 is −1, the rest as pycocotools', () => {
    const r = runCli(['eval', '--gt', GT, '--results', SEGM, '--iou', 'segm', '--max-dets', '1,10,300']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trimEnd().split('\n')).toEqual(ref('val2014_100.segm.maxDets_1_10_300').summary);
  });

  it('segm --mask-area: mask areas for results that also carry a bbox (the box-area note is not printed)', () => {
    const bt = sharedPath('braintumor_maskrcnn/valid_annotations.coco.json');
    const res = sharedPath('braintumor_maskrcnn/coco_instances_results.json');
    const r = runCli(['eval', '--gt', bt, '--results', res, '--iou', 'segm', '--mask-area']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trimEnd().split('\n')).toEqual(ref('braintumor_maskrcnn.segm.strip_bbox').summary);
    expect(r.stderr).toMatch(/warning: ground truth annotation id 0/);
    expect(r.stderr).not.toMatch(/box area/);
  });

  it('missing file', () => {
    const missing = join(dir, 'nope.json');
    expectOneLineError(runCli(['eval', '--gt', GT, '--results', missing, '--iou', 'bbox']), missing);
  });

  it('invalid JSON', () => {
    const p = write('truncated.json', JSON.stringify(results).slice(0, 3000));
    expectOneLineError(runCli(['eval', '--gt', GT, '--results', p, '--iou', 'bbox']), p, /invalid JSON/, /line 1, column/);
  });

  it('result for an image that is not in the GT', () => {
    const p = write('badimg.json', results.map((r, i) => (i === 3 ? { ...r, image_id: 999999 } : r)));
    expectOneLineError(runCli(['eval', '--gt', GT, '--results', p, '--iou', 'bbox']), p, /results\[3\]/, /image_id/, /999999/);
  });

  it('result with an unknown category', () => {
    const p = write('badcat.json', results.map((r, i) => (i === 5 ? { ...r, category_id: 999 } : r)));
    expectOneLineError(runCli(['eval', '--gt', GT, '--results', p, '--iou', 'bbox']), p, /results\[5\]/, /category_id/, /999/);
  });

  it('NaN score (Python json writes NaN)', () => {
    const text = JSON.stringify(results.map((r, i) => (i === 7 ? { ...r, score: '@NAN@' } : r))).replace('"@NAN@"', 'NaN');
    const p = write('nan.json', text);
    expectOneLineError(runCli(['eval', '--gt', GT, '--results', p, '--iou', 'bbox']), p, /results\[7\]/, /score/, /NaN/);
  });
});

describe('tiedet eval argument errors', () => {
  it('--max-dets with fewer than 3 values', () => {
    const r = runCli(['eval', '--gt', 'a.json', '--results', 'b.json', '--iou', 'bbox', '--max-dets', '1,10']);
    expectOneLineErrorCode(r, 2, /--max-dets/, /at least 3/); // a usage error
  });
});
