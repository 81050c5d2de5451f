/**
 * `tiedet analyze-logs`: curves and summary from JSON-lines training logs — train and val keys, a resumed run
 * (records past the resumed checkpoint are superseded), two logs compared, downsampling, and clear errors (unknown
 * key, a broken line with its number; `--on-bad skip` counts it).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseJsonlLog } from '../../src/train/logger.js';
import { downsample, runAnalyzeLogs } from '../../tools/analyze-logs.js';
import { runCli } from './run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tiedet-logs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const line = (r: Record<string, unknown>): string => JSON.stringify(r);

/**
 * Train lines every 10 iterations to 60, val at 30 / 60; the first run went on to 60 after the checkpoint at 40,
 * then was resumed from that checkpoint (its lines at 50, 60 and a nan line at 55 belong to an abandoned future).
 */
function resumedLog(): string {
  const out: string[] = [line({ mode: 'run', iter: 0, epoch: 1, total_iters: 60 })];
  const train = (iter: number, loss: number) =>
    line({ mode: 'train', iter, epoch: 1, lr: 0.01, loss, loss_cls: loss / 2, time: 0.5, data_time: 0.1, num_tensors: 10, num_bytes: 100 });
  for (const i of [10, 20, 30]) out.push(train(i, 2 - i / 30));
  out.push(line({ mode: 'val', iter: 30, epoch: 1, bbox_mAP: 0.1 }));
  out.push(train(40, 2 - 40 / 30));
  for (const i of [50, 60]) out.push(train(i, 99)); // abandoned continuation
  out.push(line({ mode: 'nan', iter: 55, epoch: 1, reason: 'loss_cls = NaN', consecutive: 1 }));
  out.push(line({ mode: 'resume', iter: 40, epoch: 1, checkpoint: 'iter_40.json' }));
  out.push(line({ mode: 'run', iter: 40, epoch: 1, total_iters: 60 }));
  for (const i of [50, 60]) out.push(train(i, 2 - i / 30));
  out.push(line({ mode: 'val', iter: 60, epoch: 2, bbox_mAP: 0.3 }));
  return `${out.join('\n')}\n`;
}

describe('tiedet analyze-logs', () => {
  it('reads a resumed log as the history of the final weights', () => {
    const { records, superseded } = parseJsonlLog(resumedLog(), 'x.jsonl');
    expect(superseded).toBe(3); // 2 train lines + 1 nan line past iteration 40
    expect(records.filter((r) => r.mode === 'train').map((r) => r.iter)).toEqual([10, 20, 30, 40, 50, 60]);
    expect(() => parseJsonlLog('{"mode":"train"}\n{oops\n', 'x.jsonl')).toThrow(/^x\.jsonl: line 2: not JSON/);
    expect(parseJsonlLog('{"mode":"train","iter":1}\n[1]\n', 'x.jsonl', { onBad: 'skip' }).badLines).toEqual([2]);
  });

  it('prints the summary and writes one panel per key, one series per log', () => {
    const a = join(dir, 'a.jsonl');
    const b = join(dir, 'b.jsonl');
    writeFileSync(a, resumedLog());
    writeFileSync(b, resumedLog().replace(/"bbox_mAP":0.3/, '"bbox_mAP":0.4'));
    const svgPath = join(dir, 'out', 'curves.svg');
    let stdout = '';
    const summaries = runAnalyzeLogs(
      { logs: [a, b], keys: 'loss,bbox_mAP', legend: 'tied,base', out: svgPath, 'max-points': 400, 'on-bad': 'error' },
      (t) => (stdout += t),
      () => undefined,
    );
    expect(summaries[0]!.keys[0]).toMatchObject({ key: 'loss', mode: 'train', points: 6, min: 0, minIter: 60, max: 2 - 10 / 30, maxIter: 10 });
    expect(summaries[1]!.keys[1]).toMatchObject({ key: 'bbox_mAP', mode: 'val', points: 2, first: 0.1, last: 0.4, max: 0.4, maxIter: 60 });
    expect(summaries[0]).toMatchObject({ iterations: 60, meanTime: 0.5, skippedSteps: 0, evaluations: 2, superseded: 3 });
    expect(summaries[0]!.meanDataTime).toBeCloseTo(0.1, 12);
    const rows = stdout.split('\n');
    expect(rows.find((l) => l.startsWith('tied ') && l.includes('loss (train)'))!.split(/\s+/)).toEqual(
      ['tied', 'loss', '(train)', '6', '1.6667', '0', '0', '@60', '1.6667', '@10'],
    );
    expect(rows.find((l) => l.startsWith('base ') && l.includes('bbox_mAP (val)'))!.split(/\s+/)).toEqual(
      ['base', 'bbox_mAP', '(val)', '2', '0.1', '0.4', '0.1', '@30', '0.4', '@60'],
    );
    expect(rows.find((l) => l.startsWith('tied ') && !l.includes('('))!.split(/\s+/)).toEqual(['tied', '60', '0.5', '0.1', '0', '2']);
    expect(stdout).toMatch(/tied: 3 record\(s\) after a resumed checkpoint were superseded/);
    const svg = readFileSync(svgPath, 'utf8');
    expect(svg.startsWith('<?xml')).toBe(true);
    expect(svg.match(/class="panel"/g)!.length).toBe(2);
    expect(svg.match(/data-series="tied"/g)!.length).toBe(2);
    expect(svg).toMatch(/data-series="base" data-points="6"/);
  });

  it('from the command line: writes the SVG; a broken line is a one-line error naming file and line; --on-bad skip counts it', () => {
    const a = join(dir, 'c.jsonl');
    writeFileSync(a, `${resumedLog()}{"mode":"train","iter":70,"loss`);
    const bad = runCli(['analyze-logs', a, '--keys', 'loss']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^tiedet: .*c\.jsonl: line 15: not JSON .*; --on-bad skip skips such lines\n$/);
    const svgPath = join(dir, 'cli.svg');
    const ok = runCli(['analyze-logs', a, '--keys', 'loss,loss_cls', '--on-bad', 'skip', '--out', svgPath]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toMatch(/skipped 1 bad line\(s\): 15/);
    expect(ok.stdout).toContain(`wrote ${svgPath}`);
    expect(readFileSync(svgPath, 'utf8').match(/class="panel"/g)!.length).toBe(2);
  });

  it('an unknown key names the keys the log has', () => {
    const a = join(dir, 'd.jsonl');
    writeFileSync(a, resumedLog());
    expect(() =>
      runAnalyzeLogs({ logs: [a], keys: 'bbox_AP', 'max-points': 400, 'on-bad': 'error' }, () => undefined, () => undefined),
    ).toThrow(/no train or val record has the key 'bbox_AP' \(keys in this log: .*bbox_mAP.*loss_cls/);
  });

  it('downsamples long curves by bucket means', () => {
    const pts = Array.from({ length: 10 }, (_, i) => ({ x: i, y: i % 2 ? Number.NaN : i }));
    expect(downsample(pts, 5)).toEqual([0, 2, 4, 6, 8].map((y, b) => ({ x: 2 * b + 0.5, y })));
    expect(downsample(pts, 20)).toEqual(pts);
  });
});
