/**
 * `npm run bench:grouped-conv` — how to run a G-group 3×3 convolution (ResNeXt's conv2) on TF.js, which has no
 * grouped conv. Candidates (all exact; `src/nn/grouped-conv.ts` implements them):
 *
 *  - **split**: split x and W into G channel slices, G `tf.conv2d`, concat (tiedet's `Conv2d` groups path).
 *  - **dense**: one dense conv with a block-diagonal [k, k, C, C′] weight built from the grouped one (tile along
 *    the input axis, multiply by a constant 0/1 mask) — G× the MACs, one big XNNPACK call.
 *  - **depthwise**: one depthwise conv with channel multiplier C′/G (each input channel c of group g convolved
 *    with the C′/G filters W[:, :, c mod C/G, g-th output block]), then the C/G partial results of a group summed
 *    (reshape [P·G, C/G, C′/G] → sum axis 1). Same MACs as the grouped conv, C/G× the intermediate memory.
 *
 * The "move the groups into the batch" trick of TBC is impossible: the groups have different filters.
 * Shapes (defaults): [1, 200, 336, 128] (ResNeXt-50 layer1 width at a 800×1333 input, stride 4) and
 * [2, 56, 56, 128] (ImageNet-size batch), G = 32 (32×4d) and G = 8; forward and forward + backward (dx, dW).
 *
 * Options: --threads N (default all cores), --repeats 3, --shapes "1x200x336x128,2x56x56x128", --groups 32,8,
 * --impls split,dense,depthwise, --out work_dirs/bench/grouped-conv.json. Runs in a child process (the wasm thread
 * count is fixed per process). Prints a table, writes JSON.
 */
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initEngine, type BackendName } from '../../src/engine/index.js';
import { groupedConv2d, type GroupedConvImpl } from '../../src/nn/grouped-conv.js';
import { Rng } from '../../src/nn/rng.js';
import { argValue, repoRoot, runChild, table, time, writeJson, type Timing } from './harness.js';

const SCRIPT = fileURLToPath(import.meta.url);

interface Row {
  shape: number[];
  groups: number;
  impl: GroupedConvImpl;
  forward: Timing;
  fwdBwd: Timing;
  /** max |y − y_split| (exactness check). */
  maxDiff: number;
}

interface ChildResult {
  backend: BackendName;
  threads: number;
  rows: Row[];
}

async function child(): Promise<ChildResult> {
  const threads = Number(argValue('threads') ?? availableParallelism());
  const repeats = Number(argValue('repeats') ?? 3);
  const shapes = (argValue('shapes') ?? '1x200x336x128,2x56x56x128').split(',').map((s) => s.split('x').map(Number));
  const groupsList = (argValue('groups') ?? '32,8').split(',').map(Number);
  const impls = (argValue('impls') ?? 'split,dense,depthwise').split(',') as GroupedConvImpl[];
  const info = await initEngine({ backend: (argValue('backend') ?? 'wasm') as BackendName, threads });
  const rng = new Rng(3);
  const rows: Row[] = [];
  for (const shape of shapes) {
    const [n, h, w, c] = shape as [number, number, number, number];
    const x = tf.variable(tf.tensor(rng.normalArray(n * h * w * c), [n, h, w, c])) as tf.Variable<tf.Rank.R4>;
    const g = tf.tensor(rng.normalArray(n * h * w * c), [n, h, w, c]);
    for (const G of groupsList) {
      const wt = tf.variable(tf.tensor(rng.normalArray(9 * (c / G) * c, 0, 0.1), [3, 3, c / G, c])) as tf.Variable<tf.Rank.R4>;
      const ref = tf.tidy(() => groupedConv2d(x, wt, { groups: G, padding: 1, impl: 'split' }));
      for (const impl of impls) {
        process.stderr.write(`  [${info.backend} ×${info.threads}] [${shape.join(',')}] G=${G} ${impl}\n`);
        const y = tf.tidy(() => groupedConv2d(x, wt, { groups: G, padding: 1, impl }));
        const maxDiff = tf.tidy(() => tf.max(tf.abs(tf.sub(y, ref))).dataSync()[0]!);
        y.dispose();
        const forward = await time(async () => {
          const out = tf.tidy(() => groupedConv2d(x, wt, { groups: G, padding: 1, impl }));
          await out.data();
          out.dispose();
        }, repeats);
        const fwdBwd = await time(async () => {
          const { value, grads } = tf.variableGrads(
            () => tf.sum(tf.mul(groupedConv2d(x, wt, { groups: G, padding: 1, impl }), g)) as tf.Scalar,
            [x, wt],
          );
          await Promise.all(Object.values(grads).map((t) => t.data()));
          tf.dispose([value, ...Object.values(grads)]);
        }, repeats);
        rows.push({ shape, groups: G, impl, forward, fwdBwd, maxDiff });
      }
      tf.dispose([wt, ref]);
    }
    tf.dispose([x, g]);
  }
  return { backend: info.backend, threads: info.threads, rows };
}

async function main(): Promise<void> {
  if (argValue('child') !== undefined) {
    process.stdout.write(`${JSON.stringify(await child())}\n`);
    return;
  }
  const pass = ['threads', 'repeats', 'shapes', 'groups', 'impls', 'backend'].flatMap((k) => {
    const v = argValue(k);
    return v === undefined ? [] : [`--${k}`, v];
  });
  const out = argValue('out') ?? `${repoRoot}/work_dirs/bench/grouped-conv.json`;
  const r = runChild<ChildResult>(SCRIPT, ['--child', '1', ...pass]);
  const rows = r.rows.map((x) => {
    const split = r.rows.find((y) => y.impl === 'split' && y.groups === x.groups && y.shape.join() === x.shape.join());
    return [
      `[${x.shape.join(',')}] G=${x.groups}`,
      x.impl,
      x.forward.medianMs,
      x.fwdBwd.medianMs,
      split ? `${(split.forward.medianMs / x.forward.medianMs).toFixed(2)}×` : '',
      split ? `${(split.fwdBwd.medianMs / x.fwdBwd.medianMs).toFixed(2)}×` : '',
      x.maxDiff.toExponential(1),
    ];
  });
  process.stdout.write(`\n${r.backend} ×${r.threads} threads, 3×3 conv C→C, stride 1, pad 1 (median ms)\n`);
  process.stdout.write(`${table(['input, groups', 'impl', 'forward', 'fwd+bwd', 'fwd vs split', 'f+b vs split', 'max |Δy|'], rows)}\n`);
  writeJson(out, {
    date: new Date().toISOString(),
    machine: { cores: availableParallelism(), cpu: cpus()[0]?.model.trim(), node: process.versions.node },
    ...r,
  });
  process.stdout.write(`\nwrote ${out}\n`);
}

await main();
process.exit(0);
