/**
 * `npm run bench:train-paths [-- --config C] [--batches N] [--repeats R]` — one config's training iteration
 * (forward, loss, backward; no optimizer step) with tiedet's train-mode engine paths on and off, alternated in one
 * process on the same batches: the SIMD BatchNorm passes (engine/kernels/simd-batchnorm.ts) and the sharing
 * `Identity` kernel (engine/kernels/identity.ts). Default: the demo's config (mask-rcnn_tiedresnet_synthetic_tiny,
 * batch-statistics BN throughout), 4 batches, 4 rounds. Prints ms per iteration of each round and the ratio of the
 * medians; writes work_dirs/bench/train-paths.json. Alternation cancels slow drift of this machine's speed.
 */
import * as tf from '@tensorflow/tfjs';
import { buildModel, loadConfig } from '../../configs/load.js';
import { DataLoader, type Batch } from '../../data/loader.js';
import type { Detector } from '../../detectors/detector.js';
import { initEngine } from '../../src/engine/index.js';
import { setIdentitySharing } from '../../src/engine/kernels/identity.js';
import { setSimdBatchNorm } from '../../src/engine/kernels/simd-batchnorm.js';
import { loadDataset, loaderOptions } from '../runner/data.js';
import { argValue, repoRoot, table, writeJson } from './harness.js';
import { median } from './reference.js';

const configName = argValue('config') ?? 'mask-rcnn_tiedresnet_synthetic_tiny';
const numBatches = Number(argValue('batches') ?? 4);
const rounds = Number(argValue('repeats') ?? 4);

const info = await initEngine();
const cfg = await loadConfig(configName);
const ds = await loadDataset(cfg.data.data, 'train', 'train');
const model = buildModel(cfg, ds.numClasses, ds.annFile) as Detector & { loss(b: Batch): Record<string, tf.Tensor> };
model.train(true);
const loader = new DataLoader(ds, loaderOptions(cfg.data.data, 'train', 0));
const batches: Batch[] = [];
for await (const b of loader.batches(0)) {
  batches.push(b);
  if (batches.length >= numBatches) break;
}
await loader.close();
const vars = model.trainableVariables();

const iteration = async (b: Batch): Promise<void> => {
  const { value, grads } = tf.variableGrads(() => {
    const parts = Object.entries(model.loss(b)).filter(([k]) => k.includes('loss'));
    return tf.addN(parts.map(([, t]) => t)) as tf.Scalar;
  }, vars);
  await value.data();
  tf.dispose([value, ...Object.values(grads)]);
};
const setPaths = (on: boolean): void => {
  setSimdBatchNorm(on);
  setIdentitySharing(on);
};

process.stderr.write(`${configName}: warming up on ${batches.length} batches …\n`);
for (const on of [true, false]) {
  setPaths(on);
  for (const b of batches) await iteration(b);
}
const runs: Record<'on' | 'off', number[]> = { on: [], off: [] };
for (let r = 0; r < rounds; r++) {
  for (const mode of r % 2 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
    setPaths(mode === 'on');
    const t0 = performance.now();
    for (const b of batches) await iteration(b);
    runs[mode].push((performance.now() - t0) / batches.length);
    process.stderr.write(`  round ${r + 1}/${rounds} ${mode}: ${runs[mode].at(-1)!.toFixed(0)} ms/iteration\n`);
  }
}
setPaths(true);
const ratio = median(runs.off) / median(runs.on);
process.stdout.write(
  `${info.backend} ×${info.threads}, ${configName}, ${batches.length} batches of ${cfg.data.data.batchSize} images\n` +
    table(
      ['paths', 'ms / iteration (rounds)', 'median'],
      [
        ['SIMD BN + shared Identity', runs.on.map((v) => v.toFixed(0)).join(' '), median(runs.on)],
        ['tf-op BN + copying Identity', runs.off.map((v) => v.toFixed(0)).join(' '), median(runs.off)],
      ],
    ) +
    `\nspeed-up (median off / median on): ${ratio.toFixed(3)}×\n`,
);
writeJson(`${repoRoot}/work_dirs/bench/train-paths.json`, {
  date: new Date().toISOString(),
  backend: info.backend,
  threads: info.threads,
  config: configName,
  batches: batches.length,
  msPerIteration: runs,
  speedup: ratio,
});
model.dispose();
tf.dispose(batches.flatMap((b) => Object.values(b).filter((v): v is tf.Tensor => v instanceof tf.Tensor)));
process.exit(0);
