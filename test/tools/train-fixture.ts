/**
 * A very small synthetic set for the train / test command tests (20 images of 64×64: 16 train, 4 val, generated
 * once per test file into a temp folder) and the `--cfg-options` that point the tiny config at it with settings
 * that keep a run to a few seconds (4 images per batch → 4 iterations per epoch, warm-up 10 iterations, a log line
 * every iteration).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSynthetic } from '../../data/synthetic/index.js';

export interface TinyFixture {
  dir: string;
  cfgOptions: string[];
  cleanup(): void;
}

export async function tinyFixture(extra: string[] = []): Promise<TinyFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'tiedet-train-'));
  const data = join(dir, 'data');
  await generateSynthetic({ preset: 'tiny', out: data, images: 20, size: 64, seed: 3 });
  const cfgOptions = [
    `data.train.annFile=${data}/annotations/instances_train.json`,
    `data.train.imageDir=${data}/train`,
    `data.val.annFile=${data}/annotations/instances_val.json`,
    `data.val.imageDir=${data}/val`,
    'data.scale=[64,64]',
    'data.batchSize=4',
    'train.epochs=3',
    'train.milestones=[2]',
    'train.warmupIters=10',
    'train.logEvery=1',
    'train.evalEveryEpochs=3',
    ...extra,
  ];
  return { dir, cfgOptions, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
