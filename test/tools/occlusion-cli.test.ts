/**
 * `tiedet occlusion-stats` and `tiedet occlusion-report` through the real CLI: the histogram, the report files and
 * the printed table on ../shared/coco/val2014_100; bad input → one `tiedet: …` line naming what is wrong, exit 1
 * (data) or 2 (usage), no stack trace: results for another dataset, duplicate model names, a GT without boxes, unknown
 * categories; NAME=FILE syntax and --bins as unit tests of the argument parsers (CliError with exit code 2).
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { OcclusionReport } from '../../eval/occlusion-report.js';
import { fmtPoints } from '../../eval/report/model.js';
import { CliError } from '../../tools/cli-error.js';
import { parseNamedResults } from '../../tools/occlusion-report.js';
import { checkBins } from '../../tools/cli-args.js';
import { describeShared, sharedPath } from '../eval/shared-coco.js';
import { runCli, type CliRun } from './run-cli.js';

const GT = sharedPath('val2014_100/instances_val2014_100.json');
const BBOX = sharedPath('val2014_100/instances_val2014_fakebbox100_results.json');
const SEGM = sharedPath('val2014_100/instances_val2014_fakesegm100_results.json');

function expectOneLineError(r: CliRun, code: number, ...parts: (string | RegExp)[]): void {
  expect(r.code, r.stderr).toBe(code);
  const lines = r.stderr.trimEnd().split('\n').filter((l) => !/^tiedet: (occlusion ratio|.*: loading|.*: evaluating|bootstrap)/.test(l));
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^tiedet: /);
  for (const p of parts) expect(lines[0]).toMatch(p);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
}

describe('NAME=FILE parsing', () => {
  it('splits at the first =, trims, keeps order', () => {
    expect(parseNamedResults(['ResNet50=a.json', ' Tied = dir/b=c.json '])).toEqual([
      { name: 'ResNet50', file: 'a.json' },
      { name: 'Tied', file: 'dir/b=c.json' },
    ]);
  });
  it('syntax errors and duplicates are usage errors (exit 2) that quote the argument', () => {
    const fails = (v: string[], re: RegExp) => {
      try {
        parseNamedResults(v);
      } catch (e) {
        expect(e).toBeInstanceOf(CliError);
        expect((e as CliError).exitCode).toBe(2);
        expect((e as Error).message).toMatch(re);
        return;
      }
      throw new Error(`no error for ${JSON.stringify(v)}`);
    };
    fails(['a.json'], /--results 'a\.json': expected NAME=FILE/);
    fails(['=a.json'], /model name before '=' is empty/);
    fails(['A='], /the file after '=' is empty/);
    fails(['A=a.json', 'B=b.json', 'A=c.json'], /duplicate model name 'A' \(results 1 and 3\)/);
    fails([], /at least one NAME=FILE/);
  });
  it('--bins outside 1 … 100 is a usage error', () => {
    expect(checkBins(20)).toBe(20);
    for (const bad of [0, 101, 2.5, Number.NaN]) {
      expect(() => checkBins(bad)).toThrow(/--bins: expected an integer from 1 to 100/);
      try {
        checkBins(bad);
      } catch (e) {
        expect((e as CliError).exitCode).toBe(2);
      }
    }
  });
});

describeShared('tiedet occlusion-stats / occlusion-report', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tiedet-occ-cli-'));
  const write = (name: string, value: unknown) => {
    const p = join(dir, name);
    writeFileSync(p, JSON.stringify(value));
    return p;
  };

  it('occlusion-stats prints the histogram and writes --json', () => {
    const out = join(dir, 'stats.json');
    const r = runCli(['occlusion-stats', '--gt', GT, '--bins', '5', '--json', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/100 images, 830 non-crowd instances \(9 crowd\)/);
    expect(r.stdout).toMatch(/^bin\s+images\s+%\s+instances\s+level\s+images\s+%$/m);
    expect(r.stdout).toMatch(/^\[0\.8, 1\]\s+\d+/m);
    const j = JSON.parse(readFileSync(out, 'utf8')) as { images: number; bins: { images: number }[]; ratios: { id: number; r: number }[] };
    expect(j.images).toBe(100);
    expect(j.bins).toHaveLength(5);
    expect(j.bins.reduce((s, b) => s + b.images, 0)).toBe(100);
    expect(j.ratios).toHaveLength(100);
    // the table's counts are the JSON's
    for (const [k, b] of j.bins.entries()) expect(r.stdout.split('\n')[6 + k]).toMatch(new RegExp(`^\\S+ \\S+\\s+${b.images}\\s`));
  });

  it('occlusion-report writes the four files and prints AP / AP75 per bin', () => {
    const out = join(dir, 'report');
    const r = runCli(['occlusion-report', '--gt', GT, '--results', `Boxes=${BBOX}`, '--results', `Masks=${SEGM}`, '--iou', 'bbox',
      '--bootstrap', '10', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    for (const f of ['report.json', 'bins.csv', 'report.md', 'report.html']) expect(existsSync(join(out, f)), f).toBe(true);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as OcclusionReport;
    expect(report.models.map((m) => m.name)).toEqual(['Boxes', 'Masks']);
    expect(report.bootstrap?.replicates).toBe(10);
    const line = r.stdout.split('\n').find((l) => l.startsWith('all images'))!;
    const o = report.overall.models;
    expect(line.split(/\s{2,}/).slice(1, 6)).toEqual(['100', fmtPoints(o[0]!.stats!.AP), fmtPoints(o[0]!.stats!.AP75), fmtPoints(o[1]!.stats!.AP),
      fmtPoints(o[1]!.stats!.AP75)]);
    expect(r.stdout).toContain(`wrote ${join(out, 'report.html')}`);
    expect(r.stderr).toMatch(/tiedet: bootstrap: 10 resamples/);
  });

  it('results for another dataset (image ids not in the GT) → exit 1 naming file, record and field', () => {
    const res = JSON.parse(readFileSync(BBOX, 'utf8')) as { image_id: number }[];
    const foreign = write('foreign.json', [...res.slice(0, 3), { ...res[3], image_id: 424242 }]);
    const r = runCli(['occlusion-report', '--gt', GT, '--results', `A=${BBOX}`, '--results', `B=${foreign}`, '--iou', 'bbox', '--out', join(dir, 'x')]);
    expectOneLineError(r, 1, /foreign\.json: results\[3\]\.image_id: image 424242 is not an image of .*instances_val2014_100\.json/);
    expect(existsSync(join(dir, 'x', 'report.json'))).toBe(false);
  });

  it('duplicate model names → usage error, exit 2 (the other NAME=FILE errors: see the parsing tests)', () => {
    const r = runCli(['occlusion-report', '--gt', GT, '--results', `A=${BBOX}`, '--results', `A=${SEGM}`, '--iou', 'bbox', '--out', join(dir, 'y')]);
    expectOneLineError(r, 2, /duplicate model name 'A' \(results 1 and 2\)/);
  });

  it('a GT without boxes → exit 1 for both commands', () => {
    const gt = JSON.parse(readFileSync(GT, 'utf8')) as Record<string, unknown>;
    const nobox = write('nobox.json', { ...gt, annotations: [] });
    expectOneLineError(runCli(['occlusion-stats', '--gt', nobox]), 1, /nobox\.json: the ground truth has no \(non-crowd\) annotations/);
    const r = runCli(['occlusion-report', '--gt', nobox, '--results', `A=${write('empty.json', [])}`, '--iou', 'bbox', '--out', join(dir, 'z')]);
    expectOneLineError(r, 1, /no \(non-crowd\) annotations — the occlusion ratio needs ground-truth boxes/);
  });

  it('unknown categories → exit 1 unless --skip-unknown-categories (then counted)', () => {
    const res = JSON.parse(readFileSync(BBOX, 'utf8')) as { category_id: number }[];
    const bad = write('badcat.json', res.map((d, i) => (i < 2 ? { ...d, category_id: 999 } : d)));
    const args = ['occlusion-report', '--gt', GT, '--results', `A=${bad}`, '--iou', 'bbox', '--bootstrap', '0', '--out', join(dir, 'w')];
    expectOneLineError(runCli(args), 1, /badcat\.json: results\[0\] \(image \d+\)\.category_id: category 999 is not a category .*\(2 results have unknown categories\)/);
    const ok = runCli([...args, '--skip-unknown-categories', '--quiet']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr.trim()).toBe(`tiedet: warning: A: skipped 2 result(s) whose category is not in ${GT}`);
  });
});
