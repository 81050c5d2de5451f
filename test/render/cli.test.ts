/**
 * `tiedet render` and `tiedet browse-dataset` through the real CLI: the summary lines, bad input as one `tiedet: …`
 * line naming the file (exit 1, no stack trace), or skipped and counted with --on-bad skip; the usage error without
 * --gt (exit 2) through the command's handler function.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeImage } from '../../data/image.js';
import { encode } from '../../src/structures/rle.js';
import { rleToString } from '../../src/structures/rle-string.js';
import { CliError } from '../../tools/cli-error.js';
import { runRender } from '../../tools/render.js';
import { runCli, type CliRun } from '../tools/run-cli.js';

const W = 32;
const H = 24;
const dir = mkdtempSync(join(tmpdir(), 'tiedet-render-cli-'));
const gt = join(dir, 'gt.json');
const gtMissing = join(dir, 'gt-missing.json');
const dets = join(dir, 'dets.json');
const notResults = join(dir, 'not-results.json');

beforeAll(async () => {
  await writeImage(join(dir, 'images', 'one.png'), { data: new Uint8Array(W * H * 3).fill(120), width: W, height: H });
  const images = [{ id: 7, file_name: 'one.png', width: W, height: H }];
  const categories = [{ id: 3, name: 'blob' }];
  const annotations = [{ id: 1, image_id: 7, category_id: 3, bbox: [4, 4, 10, 10], area: 100, iscrowd: 0, segmentation: [[4, 4, 4, 14, 14, 14, 14, 4]] }];
  writeFileSync(gt, JSON.stringify({ images, categories, annotations }));
  writeFileSync(gtMissing, JSON.stringify({ images: [...images, { id: 8, file_name: 'gone.png', width: W, height: H }], categories, annotations }));
  const m = new Uint8Array(W * H);
  for (let y = 5; y < 14; y++) for (let x = 5; x < 14; x++) m[y * W + x] = 1;
  writeFileSync(dets, JSON.stringify([{ image_id: 7, category_id: 3, score: 0.8, segmentation: { size: [H, W], counts: rleToString(encode(m, H, W, 'row')) } }]));
  writeFileSync(notResults, JSON.stringify({ annotations: [] }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function expectOneLineError(r: CliRun, code: number, ...parts: RegExp[]): void {
  expect(r.code, r.stderr).toBe(code);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines[0]).toMatch(/^tiedet: /);
  for (const p of parts) expect(r.stderr).toMatch(p);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('tiedet render / browse-dataset CLI', () => {
  it('renders, prints the summary and writes the gallery; --on-bad skip counts a missing image', () => {
    const out = join(dir, 'out');
    const r = runCli(['render', '--gt', gtMissing, '--images', join(dir, 'images'), '--results', dets, '--out', out, '--side-by-side', '--on-bad', 'skip']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^rendered 1 image\(s\), 1 detection\(s\) drawn, to /);
    expect(r.stdout).toMatch(/segm AP over these images: \d\.\d{3}/);
    expect(r.stdout).toMatch(/skipped 1 image\(s\) and 0 result record\(s\) \(--on-bad skip\)/);
    expect(r.stderr).toMatch(/tiedet: skipped .*gone\.png: image file not found/);
    expect(existsSync(join(out, 'one.png'))).toBe(true);
    expect(existsSync(join(out, 'index.html'))).toBe(true);
  });

  it('names a missing image in one line (exit 1)', () => {
    const missing = runCli(['render', '--gt', gtMissing, '--images', join(dir, 'images'), '--results', dets, '--out', join(dir, 'o2')]);
    expectOneLineError(missing, 1, /gone\.png: image file not found \(image 8 of .*gt-missing\.json\)/);
    expect(missing.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('needs --gt (usage error, exit 2) and names a file that is not COCO results (exit 1)', async () => {
    const args = { images: join(dir, 'images'), results: dets, out: join(dir, 'o1'), 'score-thr': 0.5, 'side-by-side': false, 'color-by': 'category', format: 'png', 'on-bad': 'error' } as const;
    const noGt = await runRender(args, () => {}, () => {}).catch((e: unknown) => e);
    expect(noGt).toBeInstanceOf(CliError);
    expect((noGt as CliError).exitCode).toBe(2);
    expect((noGt as CliError).message).toMatch(/^render needs --gt ann\.json: COCO results hold only image ids/);
    const bad = await runRender({ ...args, gt, results: notResults }, () => {}, () => {}).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(CliError);
    expect((bad as CliError).exitCode).toBe(1);
    expect((bad as CliError).message).toMatch(/not-results\.json: results must be a JSON array of detections/);
  });

  it('browse-dataset draws the ground truth', () => {
    const out = join(dir, 'browse');
    const r = runCli(['browse-dataset', '--gt', gt, '--images', join(dir, 'images'), '--out', out, '--format', 'jpeg']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^drew 1 annotation\(s\) on 1 image\(s\) to /);
    expect(existsSync(join(out, 'one.jpg'))).toBe(true);
    expect(existsSync(join(out, 'index.html'))).toBe(true);
  });
});
