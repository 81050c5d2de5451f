/**
 * `npx tsx tools/bench/profile-step.ts [--threads N]` — per-kernel time of one ResNet-18-style training step
 * (2×256², the step of bench:engine), from `tf.profile`: where the time goes, and (run with --threads 1 and 2)
 * which kernels do not scale with threads. Prints a table; writes work_dirs/bench/profile-step-<N>.json.
 */
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index.js';
import { Rng } from '../../src/nn/rng.js';
import { SGD } from '../../src/train/sgd.js';
import { argValue, repoRoot, table, writeJson } from './harness.js';
import { ResNet18 } from './resnet18.js';

const info = await initEngine({ threads: argValue('threads') ? Number(argValue('threads')) : undefined });
const rng = new Rng(1);
const model = new ResNet18(new Rng(7), 10);
const sgd = new SGD(model.namedParameters(), { lr: 0.01, momentum: 0.9, weightDecay: 1e-4 });
const x = tf.tensor4d(rng.normalArray(2 * 256 * 256 * 3), [2, 256, 256, 3]);
const labels = tf.oneHot(tf.tensor1d([3, 8], 'int32'), 10);
const step = async () => {
  const { value, grads } = tf.variableGrads(
    () => tf.losses.softmaxCrossEntropy(labels, model.forward(x)) as tf.Scalar,
    model.trainableVariables(),
  );
  sgd.step(grads);
  await value.data();
  tf.dispose([value, ...Object.values(grads)]);
};
await step();
await step();
const t0 = performance.now();
const prof = await tf.profile(step);
const wall = performance.now() - t0;
const agg = new Map<string, { ms: number; calls: number }>();
for (const k of prof.kernels) {
  const a = agg.get(k.name) ?? { ms: 0, calls: 0 };
  a.ms += k.kernelTimeMs as number;
  a.calls += 1;
  agg.set(k.name, a);
}
const rows = [...agg].sort((a, b) => b[1].ms - a[1].ms);
const total = rows.reduce((s, [, a]) => s + a.ms, 0);
process.stdout.write(
  `${info.backend} ×${info.threads}: one step ${wall.toFixed(0)} ms wall (profiled), kernels ${total.toFixed(0)} ms\n` +
    `${table(['kernel', 'ms', 'calls', 'share'], rows.map(([n, a]) => [n, a.ms, a.calls, `${((100 * a.ms) / total).toFixed(1)} %`]))}\n`,
);
writeJson(`${repoRoot}/work_dirs/bench/profile-step-${info.threads}.json`, { wallMs: wall, kernels: Object.fromEntries(agg) });
process.exit(0);
