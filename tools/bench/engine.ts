/**
 * `npm run bench:engine` — what the engine costs on this machine: a 3×3 convolution forward and forward+backward,
 * and a ResNet-18-style training step at 2×256×256 (forward with batch-statistics BN, backward, SGD with
 * momentum), each with 1 wasm thread and with all threads. Prints a table, writes work_dirs/bench/engine.json.
 *
 * Options: --threads 1,2 (thread counts to compare), --repeats 5, --backend wasm, --out PATH.
 * The wasm thread count is fixed per process, so each configuration runs in a child process.
 */
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initEngine, type BackendName } from '../../src/engine/index.js';
import { Rng } from '../../src/nn/rng.js';
import { SGD } from '../../src/train/sgd.js';
import { argValue, repoRoot, runChild, table, time, writeJson, type Timing } from './harness.js';
import { ResNet18 } from './resnet18.js';

const SCRIPT = fileURLToPath(import.meta.url);

interface ChildResult {
  backend: BackendName;
  threads: number;
  results: Record<string, Timing>;
  numTensorsDrift: number;
}

function randomTensor(rng: Rng, shape: number[]): tf.Tensor {
  return tf.tensor(rng.normalArray(shape.reduce((a, b) => a * b, 1)), shape);
}

async function child(threads: number, backend: BackendName, repeats: number): Promise<ChildResult> {
  const info = await initEngine({ backend, threads });
  const rng = new Rng(1);
  const results: Record<string, Timing> = {};
  const log = (name: string) => process.stderr.write(`  [${info.backend} ×${info.threads}] ${name}…\n`);

  // (a) 3×3 conv, 256 → 256 channels on a 100×168 map (a P3-sized FPN level at 800×1333, batch 1).
  {
    const x = randomTensor(rng, [1, 100, 168, 256]) as tf.Tensor4D;
    const w = tf.variable(randomTensor(rng, [3, 3, 256, 256]).mul(0.02)) as tf.Variable<tf.Rank.R4>;
    const xv = tf.variable(x);
    log('conv3x3 forward');
    results['conv3x3 256→256 @100×168 forward'] = await time(async () => {
      const y = tf.conv2d(xv, w, 1, 'same');
      await y.data();
      y.dispose();
    }, repeats);
    log('conv3x3 forward+backward');
    results['conv3x3 256→256 @100×168 fwd+bwd (dx, dW)'] = await time(async () => {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.conv2d(xv, w, 1, 'same')) as tf.Scalar, [xv, w]);
      await Promise.all(Object.values(grads).map((g) => g.data()));
      tf.dispose([value, ...Object.values(grads)]);
    }, repeats);
    tf.dispose([x, w, xv]);
  }

  // (b) ResNet-18-style network, batch 2 at 256×256, 10 classes.
  const model = new ResNet18(new Rng(7), 10);
  model.train();
  const sgd = new SGD(model.namedParameters(), { lr: 0.01, momentum: 0.9, weightDecay: 1e-4 });
  const x = randomTensor(rng, [2, 256, 256, 3]) as tf.Tensor4D;
  const labels = tf.oneHot(tf.tensor1d([3, 8], 'int32'), 10);
  const loss = () => tf.losses.softmaxCrossEntropy(labels, model.forward(x)) as tf.Scalar;
  log('resnet18 forward');
  results['ResNet-18 2×256² forward (train-mode BN)'] = await time(async () => {
    const y = tf.tidy(() => model.forward(x));
    await y.data();
    y.dispose();
  }, repeats);
  log('resnet18 train step');
  const trainStep = async () => {
    const { value, grads } = tf.variableGrads(loss, model.trainableVariables());
    sgd.step(grads);
    await value.data();
    tf.dispose([value, ...Object.values(grads)]);
  };
  await trainStep(); // creates SGD's momentum buffers, so the count below is a real drift
  const before = tf.memory().numTensors;
  results['ResNet-18 2×256² train step (fwd+bwd+SGD)'] = await time(trainStep, repeats);
  const numTensorsDrift = tf.memory().numTensors - before;
  return { backend: info.backend, threads: info.threads, results, numTensorsDrift };
}

async function main(): Promise<void> {
  const repeats = Number(argValue('repeats') ?? 5);
  const backend = (argValue('backend') ?? 'wasm') as BackendName;
  if (argValue('child') !== undefined) {
    const r = await child(Number(argValue('threads')), backend, repeats);
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return;
  }
  const threadList = (argValue('threads') ?? `1,${availableParallelism()}`).split(',').map(Number);
  const out = argValue('out') ?? `${repoRoot}/work_dirs/bench/engine.json`;
  process.stderr.write(`bench:engine — ${backend}, threads ${threadList.join(' vs ')}, ${repeats} repeats (median)\n`);
  const runs = threadList.map((t) =>
    runChild<ChildResult>(SCRIPT, ['--child', '1', '--threads', String(t), '--backend', backend, '--repeats', String(repeats)]),
  );
  const names = Object.keys(runs[0]!.results);
  const header = ['benchmark', ...runs.map((r) => `${r.backend} ×${r.threads} ms`)];
  if (runs.length > 1) header.push(`speed-up ×${runs[runs.length - 1]!.threads}`);
  const rows = names.map((n) => {
    const ms = runs.map((r) => r.results[n]!.medianMs);
    return [n, ...ms, ...(runs.length > 1 ? [`${(ms[0]! / ms[ms.length - 1]!).toFixed(2)}×`] : [])];
  });
  const fwd = 'ResNet-18 2×256² forward (train-mode BN)';
  const step = 'ResNet-18 2×256² train step (fwd+bwd+SGD)';
  rows.push([
    'train step / forward',
    ...runs.map((r) => `${(r.results[step]!.medianMs / r.results[fwd]!.medianMs).toFixed(2)}×`),
    ...(runs.length > 1 ? [''] : []),
  ]);
  process.stdout.write(`\n${table(header, rows)}\n`);
  for (const r of runs) {
    if (r.numTensorsDrift !== 0) process.stdout.write(`warning: ${r.threads} thread(s): tensor count drifted by ${r.numTensorsDrift}\n`);
  }
  writeJson(out, {
    date: new Date().toISOString(),
    machine: { cores: availableParallelism(), cpu: cpus()[0]?.model.trim(), node: process.versions.node },
    repeats,
    runs,
  });
  process.stdout.write(`\nwrote ${out}\n`);
}

await main();
process.exit(0);
