/**
 * `npx tsx tools/bench/profile-step.ts [--threads N]` — per-kernel time of one ResNet-18-style training step
 * (2×256², the step of bench:engine), from `tf.profile`: where the time goes, and (run with --threads 1 and 2)
 * which kernels do not scale with threads. Prints a table; writes work_dirs/bench/profile-step-<N>.json.
 */
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index.js';
import { Rng } from '../../src/nn/rng.js';
import { SGD } from '../../src/train/sgd.js';
import { argValue, repoRoot, writeJson } from './harness.js';
import { profileKernels } from './kernel-profile.js';
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
const p = await profileKernels(step);
process.stdout.write(
  `${info.backend} ×${info.threads}: one step ${p.wallMs.toFixed(0)} ms wall (profiled), kernels ${p.kernelMs.toFixed(0)} ms\n${p.table}\n`,
);
writeJson(`${repoRoot}/work_dirs/bench/profile-step-${info.threads}.json`, { wallMs: p.wallMs, kernels: Object.fromEntries(p.kernels) });
process.exit(0);
