/**
 * The data worker from compiled JavaScript: data/ (and what it imports) is compiled with tsc into a scratch folder
 * under work_dirs/ (as `npm run build` does into dist/), and a plain `node` process runs samples through a worker
 * pool there — so the `.js` worker path is exercised without tsx — and compares them with in-process results.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const out = join(root, 'work_dirs', `test-data-dist-${process.pid}`);
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('compiled data worker', () => {
  it('runs from .js with results identical to in-process loading', () => {
    mkdirSync(out, { recursive: true });
    const tsc = spawnSync(
      process.execPath,
      [
        join(root, 'node_modules/typescript/bin/tsc'),
        ...['--outDir', out, '--rootDir', root, '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--target', 'ES2022'],
        ...['--strict', '--skipLibCheck', '--types', 'node', '--sourceMap', 'false', '--declaration', 'false'],
        join(root, 'data/coco-dataset.ts'),
        join(root, 'data/worker-pool.ts'),
        join(root, 'data/worker.ts'),
      ],
      { cwd: root, encoding: 'utf8', timeout: 240_000 },
    );
    expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
    const script = join(out, 'run.mjs');
    const bad = join(root, 'test/fixtures/bad-data');
    writeFileSync(
      script,
      `import { CocoDetectionDataset } from './data/coco-dataset.js';
import { runSample } from './data/pipeline.js';
import { WorkerPool } from './data/worker-pool.js';
const ds = await CocoDetectionDataset.load(${JSON.stringify(join(bad, 'duplicate-annotation-id.json'))}, { imageDir: ${JSON.stringify(bad)}, withMasks: true, minSize: 0, onBad: 'skip' });
const tasks = ds.samples.map((s, i) => ({ ...s, flip: i % 2 === 1, scale: [128, 96], padSize: { width: 128, height: 128 },
  mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375], maxPixels: 1e8 }));
const digest = (r) => { let x = 0; for (const v of r.image) x += v; for (const m of r.masks) x += m; for (const b of r.boxes) x += b; return x; };
const pool = new WorkerPool(1);
const inWorker = await Promise.all(tasks.map((t) => pool.run(t)));
await pool.close();
const inProcess = await Promise.all(tasks.map((t) => runSample(t)));
console.log(JSON.stringify([inProcess.map(digest), inWorker.map(digest)]));
`,
    );
    const run = spawnSync(process.execPath, [script], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    expect(run.status, run.stderr).toBe(0);
    const [inProcess, worker] = JSON.parse(run.stdout.trim()) as [number[], number[]];
    expect(inProcess).toHaveLength(3);
    expect(worker).toEqual(inProcess);
  });
});
