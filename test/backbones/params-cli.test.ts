import { describe, expect, it } from 'vitest';
import { PRESETS, parseInput } from '../../tools/backbone-presets.js';
import type { ParamsReport } from '../../tools/params.js';
import { runCli } from '../tools/run-cli.js';

describe('tiedet params', () => {
  it('--json parses and lists every preset with params, GMACs and ratios to ResNet-50', () => {
    const r = runCli(['params', '--json'], {}, 120_000);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as ParamsReport;
    expect(report.input).toEqual({ height: 224, width: 224 });
    expect(report.reference).toBe('resnet50');
    expect(report.convention).toMatch(/conv \+ linear/);
    expect(report.presets.map((p) => p.name)).toEqual(PRESETS.map((p) => p.name));
    const by = new Map(report.presets.map((p) => [p.name, p]));
    expect(by.get('resnet50')).toMatchObject({ params: 25_557_032, macs: 4_089_184_256, paramsRatio: 1, macsRatio: 1, backboneParams: 23_508_032 });
    expect(by.get('resnet101')!.params).toBe(44_549_160);
    expect(by.get('resnext50_32x4d')!.params).toBe(25_028_904);
    expect(by.get('tiedResNet50')!.params).toBe(23_710_808);
    const s = by.get('tiedResNet50S')!;
    expect(s.paramsRatio).toBeCloseTo(0.542, 3);
    expect(s.macsRatio).toBeCloseTo(0.577, 3);
    for (const p of report.presets) {
      expect(p.paramsM).toBeCloseTo(p.params / 1e6, 9);
      expect(p.gmacs).toBeCloseTo(p.macs / 1e9, 9);
    }
  });

  it('text table at 800×1333 for a subset; ratios against ResNet-50 even when it is not listed', () => {
    const r = runCli(['params', '--input', '800x1333', '--presets', 'tiedResNet50S,resnext50_32x4d']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Backbones at 800×1333/);
    const rows = r.stdout.split('\n').filter((l) => /^(tiedResNet50S|resnext50_32x4d) /.test(l));
    expect(rows.map((l) => l.split(/\s{2,}/)[0])).toEqual(['tiedResNet50S', 'resnext50_32x4d']);
    expect(rows[0]).toMatch(/13\.85\s+0\.542/);
  });

  it('bad --input or an unknown preset: one clear line, exit 1', () => {
    for (const args of [['--input', '224by224'], ['--presets', 'resnet50,resnet51']]) {
      const r = runCli(['params', ...args]);
      expect(r.code).toBe(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines.length, r.stderr).toBe(1);
      expect(lines[0]).toMatch(/^tiedet: (--input: expected HEIGHTxWIDTH|--presets: unknown preset\(s\) "resnet51")/);
    }
  });

  it('parseInput: HxW, a single side, × and spaces', () => {
    expect(parseInput('224x224')).toEqual([224, 224]);
    expect(parseInput('800x1333')).toEqual([800, 1333]);
    expect(parseInput('512')).toEqual([512, 512]);
    expect(parseInput(' 600 × 1000 ')).toEqual([600, 1000]);
    expect(() => parseInput('x224')).toThrow(/--input/);
    expect(() => parseInput('224x')).toThrow(/--input/);
    expect(() => parseInput('16x16')).toThrow(/sides from 32/);
  });
});
