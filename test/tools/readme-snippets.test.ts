/**
 * Every TypeScript block of the README runs (issue 21): each ```ts block is written to a module (its `./…`
 * imports pointed at this repository) and executed with tsx in a scratch folder that holds what the README tells
 * the reader to have — `r50.safetensors` (a seeded random ResNet-50 standing in for the torchvision download),
 * `instances_val2017.json` and `dets.json` (the 100-image COCO sample of ../shared/coco), the test fixtures.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedPath } from '../eval/shared-coco.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
const dir = mkdtempSync(join(tmpdir(), 'tiedet-snippets-'));

beforeAll(() => {
  symlinkSync(join(root, 'test'), join(dir, 'test'));
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules')); // tsx (--import) resolves from the folder
  mkdirSync(join(dir, 'work_dirs'));
  copyFileSync(sharedPath('val2014_100/instances_val2014_100.json'), join(dir, 'instances_val2017.json'));
  copyFileSync(sharedPath('val2014_100/instances_val2014_fakebbox100_results.json'), join(dir, 'dets.json'));
  // the stand-in for torchvision's ImageNet ResNet-50 (same names, shapes and layout; random values)
  const make = join(dir, 'make-r50.mts');
  writeFileSync(
    make,
    [
      `import { initEngine } from ${JSON.stringify(join(root, 'src/engine/index.js'))};`,
      `import { resnet50 } from ${JSON.stringify(join(root, 'src/backbones/presets.js'))};`,
      `import { saveTorchWeights } from ${JSON.stringify(join(root, 'src/io/torch-weights.js'))};`,
      "await initEngine({ backend: 'cpu' });",
      "saveTorchWeights(resnet50({ seed: 1 }), 'r50.safetensors');",
      'process.exit(0);',
    ].join('\n'),
  );
  const r = spawnSync(process.execPath, ['--import', 'tsx', make], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`making r50.safetensors failed: ${r.stderr}`);
}, 150_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('README: every TypeScript block runs', () => {
  it('finds the blocks', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(4);
  });
  blocks.forEach((code, i) => {
    const first = code.split('\n').find((l) => l.trim() && !l.startsWith('import')) ?? '';
    it(`block ${i + 1}: ${first.slice(0, 70)}`, () => {
      const file = join(dir, `snippet-${i + 1}.mts`);
      const src = code.replace(/from '\.\/([^']+)'/g, (_, p: string) => `from ${JSON.stringify(join(root, p))}`);
      // the wasm backend's worker threads keep a process alive: end it when the block is done
      writeFileSync(file, `${src}\nprocess.exit(0);\n`);
      const r = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: dir, encoding: 'utf8', timeout: 180_000 });
      expect(r.status, `${r.stderr}\n${r.stdout}`).toBe(0);
    }, 200_000);
  });
});
