/**
 * `npx tsx tools/bench/backbones.ts` — wall time of backbone presets on this machine: forward (eval mode, C2–C5)
 * and forward + backward (train mode with batch-statistics BN, gradients of Σ C5 for every parameter), next to
 * their analytic GMACs (src/backbones/complexity.ts), so the cost of the tied layers' data movement (block
 * transposes, splits, the mixer) shows as GMAC/s below the dense networks'.
 *
 * Forward runs alternate with PyTorch's (issue 23: the same input, batch and thread count, one PyTorch run after each
 * tiedet run; tools/reference/torch_bench.py `backbone`): torchvision's own model for the torchvision presets, and
 * ResNet-50 — the network the paper's TiedResNet-50 replaces — for the TiedResNet presets. Without a python3 with
 * torch + torchvision the table says "not measured". `--no-reference` skips it.
 *
 * Options: --presets resnet50,tiedResNet50,tiedResNet50S,resnext50_32x4d (names of tools/params.ts), --input 224x224,
 * --batch 1, --train-batch 2, --train-input 128x128, --repeats 3, --threads N, --backend wasm,
 * --out work_dirs/bench/backbones.json. Runs in a child process (wasm threads are fixed per process).
 */
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { complexity } from '../../src/backbones/complexity.js';
import { initEngine, type BackendName } from '../../src/engine/index.js';
import { loadPresets, parseInput, selectPresets } from '../backbone-presets.js';
import { argValue, repoRoot, runChild, table, time, writeJson, type Timing } from './harness.js';
import { alternate, startReference, type Reference, type SideBySide } from './reference.js';

/** torchvision models the reference can build; other presets are compared with ResNet-50. */
const TORCHVISION_PRESETS = new Set(['resnet50', 'resnet101', 'resnext50_32x4d', 'resnext101_32x8d', 'resnext101_64x4d']);

const SCRIPT = fileURLToPath(import.meta.url);

interface Row {
  name: string;
  gmacs: number;
  forward: Timing;
  trainGmacs: number;
  fwdBwd: Timing;
  /** The forward side by side with PyTorch (null: not measured — `referenceMissing` says why). */
  reference: (SideBySide & { model: string }) | null;
  referenceMissing?: string;
}

async function child(): Promise<{ backend: string; threads: number; rows: Row[] }> {
  const info = await initEngine({ backend: (argValue('backend') ?? 'wasm') as BackendName, threads: Number(argValue('threads') ?? availableParallelism()) });
  const [h, w] = parseInput(argValue('input') ?? '224x224');
  const [th, tw] = parseInput(argValue('train-input') ?? '128x128');
  const batch = Number(argValue('batch') ?? 1);
  const trainBatch = Number(argValue('train-batch') ?? 2);
  const repeats = Number(argValue('repeats') ?? 3);
  const rows: Row[] = [];
  const presetsModule = await loadPresets();
  const refs = new Map<string, Reference | { missing: string }>();
  const referenceFor = async (name: string): Promise<Reference | { missing: string }> => {
    if (argValue('no-reference') !== undefined) return { missing: '--no-reference' };
    const model = TORCHVISION_PRESETS.has(name) ? name : 'resnet50';
    if (!refs.has(model)) refs.set(model, await startReference('backbone', [h, w], info.threads, ['--preset', model, '--batch', String(batch)]));
    return refs.get(model)!;
  };
  for (const entry of selectPresets(argValue('presets') ?? 'resnet50,tiedResNet50,tiedResNet50S,resnext50_32x4d')) {
    process.stderr.write(`  [${info.backend} ×${info.threads}] ${entry.name}\n`);
    const model = entry.pick(presetsModule)({ seed: 1, numClasses: null, frozenStages: -1, normEval: false });
    const x = tf.randomUniform([batch, h, w, 3], -1, 1, 'float32', 1) as tf.Tensor4D;
    const xt = tf.randomUniform([trainBatch, th, tw, 3], -1, 1, 'float32', 2) as tf.Tensor4D;
    model.eval();
    const fwd = async (): Promise<void> => {
      const f = model.forward(x);
      await f.c5.data();
      tf.dispose([f.c2, f.c3, f.c4, f.c5]);
    };
    const ref = await referenceFor(entry.name);
    let reference: Row['reference'] = null;
    let forward: Timing;
    if ('missing' in ref) forward = await time(fwd, repeats);
    else {
      const sbs = await alternate(repeats, fwd, ref, (l) => process.stderr.write(`    ${l}\n`));
      reference = { ...sbs, model: TORCHVISION_PRESETS.has(entry.name) ? entry.name : 'resnet50' };
      forward = sbs.tiedet;
    }
    model.train();
    const fwdBwd = await time(async () => {
      const { value, grads } = tf.variableGrads(() => tf.sum(model.forward(xt).c5) as tf.Scalar, model.trainableVariables());
      await Promise.all(Object.values(grads).map((g) => g.data()));
      tf.dispose([value, ...Object.values(grads)]);
    }, repeats);
    rows.push({
      name: entry.name,
      gmacs: (complexity(model, [h, w]).macs * batch) / 1e9,
      forward,
      trainGmacs: (complexity(model, [th, tw]).macs * trainBatch) / 1e9,
      fwdBwd,
      reference,
      ...('missing' in ref ? { referenceMissing: ref.missing } : {}),
    });
    tf.dispose([x, xt]);
    model.dispose();
  }
  for (const r of refs.values()) if (!('missing' in r)) r.close();
  return { backend: info.backend, threads: info.threads, rows };
}

async function main(): Promise<void> {
  if (argValue('child') !== undefined) {
    process.stdout.write(`${JSON.stringify(await child())}\n`);
    return;
  }
  const flags = process.argv.includes('--no-reference') ? ['--no-reference', '1'] : [];
  const pass = ['presets', 'input', 'batch', 'train-batch', 'train-input', 'repeats', 'threads', 'backend'].flatMap((k) => {
    const v = argValue(k);
    return v === undefined ? [] : [`--${k}`, v];
  });
  const r = runChild<{ backend: string; threads: number; rows: Row[] }>(SCRIPT, ['--child', '1', ...pass, ...flags]);
  const out = argValue('out') ?? `${repoRoot}/work_dirs/bench/backbones.json`;
  process.stdout.write(`\n${r.backend} ×${r.threads} threads; forward = eval mode C2–C5; fwd+bwd = train mode, d(Σ C5)/d(all params) (median ms)\n`);
  process.stdout.write(
    `${table(
      ['preset', 'fwd GMACs', 'forward ms', 'GMAC/s', 'train GMACs (fwd)', 'fwd+bwd ms'],
      r.rows.map((x) => [x.name, x.gmacs, x.forward.medianMs, x.gmacs / (x.forward.medianMs / 1000), x.trainGmacs, x.fwdBwd.medianMs]),
    )}\n`,
  );
  process.stdout.write(
    `\nforward side by side with PyTorch (same input, batch and threads; one PyTorch run after each tiedet run; median ms)\n` +
      `${table(
        ['preset', 'tiedet ms', 'PyTorch model', 'PyTorch ms', 'ratio (pair min–max)'],
        r.rows.map((x) =>
          x.reference
            ? [x.name, x.reference.tiedet.medianMs, x.reference.model, x.reference.reference.medianMs, `${x.reference.ratio.toFixed(2)}× (${x.reference.spread[0].toFixed(2)}–${x.reference.spread[1].toFixed(2)})`]
            : [x.name, x.forward.medianMs, '–', NaN, `reference not measured (${x.referenceMissing ?? ''})`],
        ),
      )}\n`,
  );
  writeJson(out, { date: new Date().toISOString(), machine: { cores: availableParallelism(), cpu: cpus()[0]?.model.trim(), node: process.versions.node }, ...r });
  process.stdout.write(`\nwrote ${out}\n`);
}

await main();
process.exit(0);
