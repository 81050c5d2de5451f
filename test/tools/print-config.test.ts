/**
 * `tiedet print-config` and configs from anywhere (issue 21): a shipped config resolves with its overrides and the
 * class count it will use; a user's .ts config in another folder loads through the compiled CLI (tsx's loader API at
 * run time), and an edited shipped source wins over a stale dist/ copy, with a note.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tiedet-print-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tiedet print-config', () => {
  it('shows the file, the overrides, numClasses and the resolved config', () => {
    const r = runCli(['print-config', 'retinanet_tiedresnet_synthetic_small', '--cfg-options', 'train.lr=0.002', 'numClasses=8']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^config: retinanet_tiedresnet_synthetic_small \(.*configs\/retinanet_tiedresnet_synthetic_small\.ts\)\n/);
    expect(r.stdout).toMatch(/\noverrides: train\.lr=0\.002 numClasses=8\n/);
    expect(r.stdout).toMatch(/\nnumClasses: 8 — pinned by the config\n/);
    const j = runCli(['print-config', 'mask-rcnn_tiedresnet_synthetic_small', '--json']);
    const parsed = JSON.parse(j.stdout) as { numClasses: { value: number | null; how: string }; config: { data: { train: { annFile: string }; scale: number[] } } };
    expect(parsed.config.data.train.annFile).toBe('work_dirs/synthetic-small/annotations/instances_train.json');
    expect(parsed.config.data.scale).toEqual([256, 256]);
    expect(parsed.numClasses.how).toMatch(/^'auto': follows the training set/);
  });

  it('bad overrides and unknown configs are one line', () => {
    const a = runCli(['print-config', 'retinanet_tiedresnet_synthetic_tiny', '--cfg-options', 'numClasses=0']);
    expect(a.code).not.toBe(0);
    expect(a.stderr.trim().split('\n')).toHaveLength(1);
    expect(a.stderr).toMatch(/numClasses: expected 'auto'/);
    const b = runCli(['print-config', 'retinanet_tiedresnet_synthetic_tnay']);
    expect(b.code).not.toBe(0);
    expect(b.stderr).toMatch(/did you mean retinanet_tiedresnet_synthetic_tiny/);
  });

  it.runIf(existsSync(join(root, 'dist', 'tools', 'cli.js')))('the compiled CLI loads a .ts config from any folder', () => {
    const cfg = join(dir, 'my_config.ts');
    writeFileSync(
      cfg,
      [
        `import tiny from ${JSON.stringify(join(root, 'configs', 'retinanet_tiedresnet_synthetic_tiny.ts'))};`,
        `import { defineConfig } from ${JSON.stringify(join(root, 'configs', '_base.ts'))};`,
        'const lr: number = 0.0042; // a type annotation: this is TypeScript',
        'export default defineConfig({ ...tiny, train: { ...tiny.train, lr } });',
      ].join('\n'),
    );
    const r = spawnSync(process.execPath, [join(root, 'dist', 'tools', 'cli.js'), 'print-config', cfg, '--json'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const parsed = JSON.parse(r.stdout) as { name: string; config: { train: { lr: number } } };
    expect(parsed.name).toBe('my_config');
    expect(parsed.config.train.lr).toBe(0.0042);
  });
});
