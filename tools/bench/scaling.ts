/**
 * `npm run bench:scaling` — how the backbone's time grows with the input size and the thread count (issue 23's
 * scaling figures), tiedet next to PyTorch in the same run:
 *
 *   for each thread count (a child process each: wasm threads are fixed per process) and each input size
 *   (default 512×512, 640×640, 800×800, 800×1333), for each preset (default resnet50, tiedResNet50):
 *   - forward: eval mode (BN folded), C2–C5 of a random batch-1 input;
 *   - training step: as mmdetection trains the backbone (stem + stage 1 frozen, BN frozen: the presets' defaults),
 *     L = Σ_k mean(C_k) over C3–C5, gradients of every trainable parameter, SGD (momentum 0.9, weight decay 1e-4);
 *   each alternated with torchvision's ResNet-50 doing the same (tools/reference/torch_bench.py `backbone` and
 *   `backbone-train`, same size and threads) when a python3 with torch + torchvision is present ("reference not
 *   measured" otherwise, or with `--no-reference`).
 *
 * Medians of `--repeats` (default 3) alternated pairs after a warm-up. Writes the table, JSON
 * (`--out`, default work_dirs/bench/scaling.json) and an SVG of seconds against megapixels, one panel for the
 * forward and one for the training step, a line per (preset, threads), PyTorch dashed (`--svg`, default
 * work_dirs/bench/scaling.svg).
 *
 * Options: --sizes 512x512,640x640,800x800,800x1333 --threads 1,2 --presets resnet50,tiedResNet50 --repeats 3
 * --no-train --no-reference --cp (backbone activation checkpointing in the training step, as the COCO configs);
 * --from-json FILE [--svg OUT] redraws the SVG of a saved run.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { lineChart, type Series } from '../../eval/report/svg-chart.js';
import { initEngine } from '../../src/engine/index.js';
import { SGD } from '../../src/train/sgd.js';
import { loadPresets, parseInput, selectPresets } from '../backbone-presets.js';
import { argValue, repoRoot, runChild, table, time, writeJson, type Timing } from './harness.js';
import { alternate, startReference, type Reference, type ReferenceTask, type SideBySide } from './reference.js';

const SCRIPT = fileURLToPath(import.meta.url);

interface Cell {
  preset: string;
  threads: number;
  input: [number, number];
  kind: 'forward' | 'train';
  tiedet: Timing;
  /** PyTorch ResNet-50 alternated with it; null when not measured. */
  reference: SideBySide | null;
}

interface ChildResult {
  threads: number;
  cells: Cell[];
  referenceMissing: string | null;
}

function listArg(name: string, fallback: string): string[] {
  return (argValue(name) ?? fallback).split(',').filter((s) => s !== '');
}

async function child(): Promise<ChildResult> {
  const threads = Number(argValue('threads'));
  const info = await initEngine({ backend: 'wasm', threads });
  const repeats = Math.max(1, Number(argValue('repeats') ?? 3));
  const sizes = listArg('sizes', '512x512,640x640,800x800,800x1333').map(parseInput);
  const presets = await loadPresets();
  const entries = selectPresets(argValue('presets') ?? 'resnet50,tiedResNet50');
  const train = argValue('no-train') === undefined;
  const withCp = argValue('cp') !== undefined;
  const cells: Cell[] = [];
  let referenceMissing: string | null = argValue('no-reference') !== undefined ? '--no-reference' : null;
  const say = (s: string) => process.stderr.write(`  [×${info.threads}] ${s}\n`);
  for (const [h, w] of sizes) {
    for (const kind of train ? (['forward', 'train'] as const) : (['forward'] as const)) {
      let ref: Reference | null = null;
      if (referenceMissing === null) {
        const task: ReferenceTask = kind === 'forward' ? 'backbone' : 'backbone-train';
        const r = await startReference(task, [h, w], info.threads);
        if ('missing' in r) referenceMissing = r.missing;
        else ref = r;
      }
      for (const entry of entries) {
        say(`${entry.name} ${kind} ${h}×${w}`);
        const model = entry.pick(presets)({ seed: 1, numClasses: null, zeroInitResidual: true, withCp: kind === 'train' && withCp });
        const x = tf.randomUniform([1, h, w, 3], -1, 1, 'float32', 1) as tf.Tensor4D;
        let fn: () => Promise<void>;
        let sgd: SGD | null = null;
        if (kind === 'forward') {
          model.eval();
          fn = async () => {
            const f = model.forward(x);
            await f.c5.data();
            tf.dispose([f.c2, f.c3, f.c4, f.c5]);
          };
        } else {
          model.train();
          sgd = new SGD(model.namedParameters({ trainableOnly: true }), { lr: 0.001, momentum: 0.9, weightDecay: 1e-4 });
          const names = new Map(model.namedParameters().map(([n, v]) => [v.name, n]));
          fn = async () => {
            const { value, grads } = tf.variableGrads(() => {
              const f = model.forward(x);
              return tf.addN([tf.mean(f.c3), tf.mean(f.c4), tf.mean(f.c5)]) as tf.Scalar;
            }, model.trainableVariables());
            sgd!.step(new Map(Object.entries(grads).map(([k, g]) => [names.get(k)!, g])));
            await value.data();
            tf.dispose([value, ...Object.values(grads)]);
          };
        }
        let tiedet: Timing;
        let reference: SideBySide | null = null;
        if (ref) {
          reference = await alternate(repeats, fn, ref, (l) => say(`  ${l}`));
          tiedet = reference.tiedet;
        } else tiedet = await time(fn, repeats);
        cells.push({ preset: entry.name, threads: info.threads, input: [h, w], kind, tiedet, reference });
        x.dispose();
        sgd?.dispose();
        model.dispose();
      }
      ref?.close();
    }
  }
  return { threads: info.threads, cells, referenceMissing };
}

/** The SVG: seconds against megapixels, a panel per kind, a line per (preset, threads), PyTorch dashed. */
function writeScalingSvg(cells: Cell[], threadCounts: number[], subtitle: string, file: string): void {
  const mpix = (c: Cell) => (c.input[0] * c.input[1]) / 1e6;
  const presets = [...new Set(cells.map((c) => c.preset))];
  const panel = (kind: Cell['kind'], title: string) => {
    const series: Series[] = [];
    for (const preset of presets) {
      for (const t of threadCounts) {
        const pts = cells.filter((c) => c.kind === kind && c.preset === preset && c.threads === t);
        if (pts.length) series.push({ name: `${preset} ×${t}`, points: pts.map((c) => ({ x: mpix(c), y: c.tiedet.medianMs / 1000 })) });
      }
    }
    for (const t of threadCounts) {
      // one PyTorch line per thread count (the reference ran next to every preset: the first preset's pairs)
      const pts = cells.filter((c) => c.kind === kind && c.threads === t && c.reference && c.preset === presets[0]);
      if (pts.length) series.push({ name: `PyTorch ResNet-50 ×${t}`, dash: '6 4', points: pts.map((c) => ({ x: mpix(c), y: c.reference!.reference.medianMs / 1000 })) });
    }
    return { title, xLabel: 'input megapixels (batch 1)', yLabel: 'seconds', series };
  };
  const panels = [panel('forward', 'forward (eval, BN folded)')];
  if (cells.some((c) => c.kind === 'train')) panels.push(panel('train', 'training step (stem + stage 1 and BN frozen)'));
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, lineChart({ title: 'Backbone time vs input size', subtitle, panels }));
}

async function main(): Promise<void> {
  const fromJson = argValue('from-json');
  if (fromJson !== undefined) {
    // redraw a saved run
    const saved = JSON.parse(readFileSync(fromJson, 'utf8')) as { date: string; machine: { cpu: string }; cells: Cell[] };
    const svgOut = argValue('svg') ?? fromJson.replace(/\.json$/, '.svg');
    writeScalingSvg(saved.cells, [...new Set(saved.cells.map((c) => c.threads))], `${saved.machine.cpu}, ${saved.date.slice(0, 10)}`, svgOut);
    process.stdout.write(`wrote ${svgOut}\n`);
    return;
  }
  if (argValue('child') !== undefined) {
    process.stdout.write(`${JSON.stringify(await child())}\n`);
    return;
  }
  const threadCounts = listArg('threads', availableParallelism() > 1 ? '1,2' : '1').map(Number);
  const pass = ['sizes', 'presets', 'repeats'].flatMap((k) => {
    const v = argValue(k);
    return v === undefined ? [] : [`--${k}`, v];
  });
  for (const flag of ['no-train', 'no-reference', 'cp']) if (process.argv.includes(`--${flag}`)) pass.push(`--${flag}`, '1');
  const loadBefore = loadavg();
  const results = threadCounts.map((t) => runChild<ChildResult>(SCRIPT, ['--child', '1', '--threads', String(t), ...pass]));
  const loadAfter = loadavg();
  const cells = results.flatMap((r) => r.cells);
  const missing = results.find((r) => r.referenceMissing)?.referenceMissing ?? null;
  const s = (ms: number) => (ms / 1000).toFixed(2);
  process.stdout.write(
    `\nbackbone time vs input size and threads (wasm; median s of the alternated pairs; PyTorch: torchvision ResNet-50, same size and threads)\n` +
      `${table(
        ['preset', 'kind', 'threads', 'input', 'MPix', 'tiedet s', 'PyTorch s', 'ratio (pair min–max)'],
        cells.map((c) => [
          c.preset,
          c.kind,
          String(c.threads),
          `${c.input[0]}×${c.input[1]}`,
          (c.input[0] * c.input[1]) / 1e6,
          s(c.tiedet.medianMs),
          c.reference ? s(c.reference.reference.medianMs) : '–',
          c.reference ? `${c.reference.ratio.toFixed(2)}× (${c.reference.spread[0].toFixed(2)}–${c.reference.spread[1].toFixed(2)})` : 'not measured',
        ]),
      )}\n`,
  );
  if (missing) process.stdout.write(`PyTorch reference not measured: ${missing}\n`);
  process.stdout.write(`load average before ${loadBefore.map((l) => l.toFixed(1)).join(' ')}, after ${loadAfter.map((l) => l.toFixed(1)).join(' ')}\n`);

  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  const svgOut = argValue('svg') ?? `${repoRoot}/work_dirs/bench/scaling.svg`;
  writeScalingSvg(cells, threadCounts, `${cpu}, ${new Date().toISOString().slice(0, 10)}`, svgOut);
  const out = argValue('out') ?? `${repoRoot}/work_dirs/bench/scaling.json`;
  writeJson(out, {
    date: new Date().toISOString(),
    machine: { cores: availableParallelism(), cpu, node: process.versions.node, loadBefore, loadAfter },
    reference: missing ? `not measured: ${missing}` : 'torchvision resnet50 (tools/reference/torch_bench.py backbone / backbone-train), alternated',
    cells,
  });
  process.stdout.write(`wrote ${out} and ${svgOut}\n`);
}

await main();
process.exit(0);
