/**
 * `tiedet make-synthetic` through the real CLI: a small run prints the summary and writes the dataset; bad
 * arguments give one clear line and exit 2 (unknown preset, --images 0), an unwritable --out or an existing dataset
 * exit 1 — never a stack trace. (Each run spawns a process: the option checks themselves are unit-tested in
 * synthetic-parts.test.ts, the output-folder checks in synthetic.test.ts.)
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, type CliRun } from '../tools/run-cli.js';

const root = mkdtempSync(join(tmpdir(), 'tiedet-make-synthetic-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function expectError(r: CliRun, code: number, ...parts: RegExp[]): void {
  expect(r.code, r.stderr).toBe(code);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(/^tiedet: /);
  for (const p of parts) expect(r.stderr).toMatch(p);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('tiedet make-synthetic', () => {
  const out = join(root, 'ds');

  it('writes a dataset and prints the occlusion histogram', () => {
    const r = runCli(['make-synthetic', '--preset', 'tiny', '--out', out, '--images', '20', '--seed', '3']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/wrote the tiny synthetic dataset to .*ds/);
    expect(r.stdout).toMatch(/train: 16 images, \d+ objects/);
    expect(r.stdout).toMatch(/\[0\.9, 1\.0\]\s+\d+\s+\d+/);
    expect(r.stderr).toMatch(/make-synthetic: train 16\/16 \(100 %\)/);
    expect(existsSync(join(out, 'annotations', 'instances_val.json'))).toBe(true);
    expect(existsSync(join(out, 'val', '000004.png'))).toBe(true);
  });

  it('refuses an existing dataset without --overwrite (exit 1)', () => {
    expectError(runCli(['make-synthetic', '--out', out, '--images', '4', '--quiet']), 1, /already holds a dataset/, /--overwrite/);
  });

  it('bad arguments: exit 2 with the option named', () => {
    expectError(runCli(['make-synthetic', '--preset', 'huge', '--out', join(root, 'x')]), 2, /preset/, /huge/);
    expectError(runCli(['make-synthetic', '--out', join(root, 'x'), '--images', '0']), 2, /--images: expected an integer from 2/);
    expect(existsSync(join(root, 'x'))).toBe(false);
  });

  it('an --out that cannot be created: exit 1, one line naming it', () => {
    const file = join(root, 'a-file');
    writeFileSync(file, 'not a folder');
    const r = runCli(['make-synthetic', '--out', join(file, 'ds'), '--images', '4']);
    expectError(r, 1, /cannot create the output folder .*a-file/, /not a folder/);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});
