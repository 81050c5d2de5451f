/**
 * `tiedet analyze-filters` end to end on tiny inputs (the README example: a ResNet and a TiedResNet detector, each
 * with its config, here untrained) and its bad-input answers: one line naming the option or file, a non-zero
 * exit, no stack trace, no file written.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateSynthetic } from '../../data/synthetic/index.js';
import { runCli, type CliRun } from './run-cli.js';
import { runAnalyzeFilters, type AnalyzeFiltersArgs } from '../../tools/analyze-filters.js';
import { CliError } from '../../tools/cli-error.js';

let dir: string;
let images: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tiedet-filters-cli-'));
  const r = await generateSynthetic({ preset: 'tiny', images: 10, size: 64, seed: 1, out: join(dir, 'set') });
  images = r.imageDirs.val;
});

function oneLineError(r: CliRun, pattern: RegExp): void {
  expect(r.code).not.toBe(0);
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('tiedet analyze-filters', () => {
  it('runs the README example on tiny inputs and writes report.html / .md / .json', () => {
    const out = join(dir, 'report');
    const r = runCli(
      [
        'analyze-filters',
        '--config', 'retinanet_resnet_synthetic_tiny',
        '--config', 'retinanet_tiedresnet_synthetic_tiny',
        '--weights', 'init', '--weights', 'init',
        '--names', 'ResNet,TiedResNet',
        '--images', images,
        '--layers', 'c2,c5',
        '--filters', '4',
        '--images-max', '1',
        '--cfg-options', 'data.scale=[64,64]',
        '--out', out,
      ],
      {},
      120_000,
    );
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/ResNet: mean guided-pattern cosine similarity\s+C2 -?\d\.\d{3}\s+C5/);
    for (const f of ['report.html', 'report.md', 'report.json']) expect(existsSync(join(out, f))).toBe(true);
    const json = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(json.models.map((m: { name: string }) => m.name)).toEqual(['ResNet', 'TiedResNet']);
    expect(json.models[0].stages.map((s: { stage: string; filters: number[] }) => [s.stage, s.filters.length])).toEqual([['c2', 4], ['c5', 4]]);
  });

  it('answers bad input with one line naming the option or file, before any work', async () => {
    const base = { config: ['retinanet_tiedresnet_synthetic_tiny'], weights: ['init'], images, out: join(dir, 'bad-out') };
    const fails = async (args: Partial<AnalyzeFiltersArgs>, pattern: RegExp): Promise<void> => {
      const err = await runAnalyzeFilters({ ...base, ...args } as AnalyzeFiltersArgs, () => {}, () => {}).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(CliError);
      expect((err as CliError).message).toMatch(pattern);
      expect((err as CliError).message).not.toContain('\n');
    };
    await fails({ images: join(dir, 'nope') }, /--images .*nope: no such folder/);
    const empty = join(dir, 'empty');
    mkdirSync(empty, { recursive: true });
    await fails({ images: empty }, /--images .*empty: no \.png \/ \.jpg images/);
    await fails({ layers: 'c9' }, /--layers: unknown stage 'c9'/);
    await fails({ filters: 1 }, /--filters: expected an integer from 2/);
    await fails({ 'images-max': 0 }, /--images-max: expected a positive integer/);
    await fails({ weights: ['init', 'init'], names: 'a' }, /--names: 1 name\(s\) for 2 --weights/);
    await fails({ weights: ['init', 'init'] }, /--names: 'init' names two models/);
    await fails({ config: ['a', 'b', 'c'], weights: ['init', join(dir, 'set')] , names: 'x,y'}, /--weights|--config/);
    await fails({ out: images }, /--out .*: that is the folder given with --images/);
    const junk = join(dir, 'junk.bin');
    writeFileSync(junk, 'x');
    await fails({ weights: [junk] }, /--weights .*junk\.bin: expected a tiedet checkpoint/);
    await fails({ weights: [join(dir, 'missing.json')] }, /--weights .*missing\.json: no such file/);
    expect(existsSync(base.out)).toBe(false);
  });

  it('exits non-zero with one stderr line and no stack trace (process level)', () => {
    oneLineError(
      runCli(['analyze-filters', '--config', 'retinanet_tiedresnet_synthetic_tiny', '--weights', join(dir, 'missing.json'), '--images', images, '--out', join(dir, 'o')]),
      /^tiedet: --weights .*missing\.json: no such file/,
    );
  });
});
