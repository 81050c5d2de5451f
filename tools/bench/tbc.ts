/**
 * `npm run bench:tbc` — the paper's Fig. 3 on this machine: run time of a 3×3 conv C → C as (a) a standard conv
 * (SC, `Conv2d`), (b) a G-group conv (GC) and (c) a tied block conv with B blocks (TBC, `TiedBlockConv2d`), for
 * G = B ∈ {1, 2, 4, 8, 16, 32}; forward, and forward + backward (gradients for the input and the weights). No bias,
 * stride 1, padding 1, NHWC, float32. Paper: GC's time grows with G, TBC's stays flat (and its FLOPs fall as 1/B).
 *
 * GC formulations (`--gc`, a list; the first fills the table's GC columns, the others get extra columns and chart
 * lines):
 *  - `auto`: `GroupedConv2d` (src/nn/grouped-conv.ts) with its default formulation choice — the grouped conv the
 *    library's ResNeXt uses: split, dense or depthwise picked per (G, C/G) by `chooseGroupedConvImpl`;
 *  - `split`, `dense`, `depthwise`: `GroupedConv2d` with that formulation forced (depthwise at small G needs an
 *    intermediate C/G× the output, 3.3 GB at G = 2 for the default shape: it can exhaust the wasm32 heap, which
 *    aborts the run — pick --groups accordingly);
 *  - `conv2d`: the plain `Conv2d` module with `groups` (functional.conv2d's groups path = split).
 *
 * Options: --threads N (wasm threads, default all cores), --repeats 5, --batch 8, --size 56 (H = W),
 * --channels 256, --groups 1,2,4,8,16,32, --gc auto,conv2d, --backend wasm, --out work_dirs/bench/tbc.json
 * (the SVG goes next to it, same name with .svg); --from-json PATH re-prints and re-draws a saved run without
 * measuring (the SVG next to PATH, or next to --out).
 *
 * Every number is the median of `repeats` timed calls after one warm-up call, weights created once per layer
 * (XNNPACK caches its packed filter, as in inference). The calls are INTERLEAVED: every (layer, G, phase) is
 * warmed up once, then `repeats` rounds each time every one of them once (the starting point rotates per round).
 * This machine is shared and noisy — a first version that timed each cell in one block saw the SAME plain conv
 * (the G = B = 1 cells) take 0.6 s in one cell and 1.9 s in the next while other jobs came and went — so
 * round-robin spreads the load spikes over all cells alike, as tools/bench/kernels.ts does (harness `time()`
 * times one function in a block, so it is not used here). SC does not depend on G: it is measured once and
 * repeated in every row. At G = B = 1 the GC and TBC columns run their own code paths, which reduce to the same
 * plain conv as SC, so the first row doubles as a noise check. The JSON keeps every call's time, the minima and
 * the load average before and after. Everything runs in one child process (the wasm thread count is fixed per
 * process). Prints a table, writes JSON and an SVG line chart (eval/report/svg-chart.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initEngine, type BackendName } from '../../src/engine/index.js';
import { TiedBlockConv2d } from '../../src/layers/tbc.js';
import { Conv2d } from '../../src/nn/conv2d.js';
import { chooseGroupedConvImpl, GroupedConv2d, type GroupedConvImpl } from '../../src/nn/grouped-conv.js';
import { Rng } from '../../src/nn/rng.js';
import { argValue, repoRoot, runChild, table, writeJson, type Timing } from './harness.js';
import { lineChart, type Series } from '../../eval/report/svg-chart.js';

const SCRIPT = fileURLToPath(import.meta.url);

type GcKind = 'auto' | 'conv2d' | GroupedConvImpl;
const GC_KINDS: readonly GcKind[] = ['auto', 'conv2d', 'split', 'dense', 'depthwise'];
type Phase = 'fwd' | 'fwdBwd';
/** 'sc', 'tbc' or 'gc:<kind>'. */
type LayerKind = 'sc' | 'tbc' | `gc:${GcKind}`;

interface Config {
  backend: BackendName;
  threads: number;
  repeats: number;
  batch: number;
  size: number;
  channels: number;
  groups: number[];
  gc: GcKind[];
}

interface Job {
  layer: LayerKind;
  g: number;
  phase: Phase;
}

interface ChildResult {
  backend: BackendName;
  threads: number;
  simd: boolean;
  cells: Record<string, Cell>;
  /** os.loadavg() (1, 5, 15 min) before and after the timed rounds. */
  loadAvg: { before: number[]; after: number[] };
  /** Live tensors after the timed rounds minus before (0 = no leak). */
  numTensorsDrift: number;
}

/** One measured cell: a timing, or why there is none. */
type Cell = { ok: true; timing: Timing; params: number } | { ok: false; error: string };

interface Layer {
  weight: tf.Variable;
  forward(x: tf.Tensor4D): tf.Tensor4D;
  numParameters(): number;
  dispose(): void;
}

/** Describe what a GC kind runs (for the table, chart and JSON). */
function gcLabel(kind: GcKind): string {
  return kind === 'auto' ? 'library: auto' : kind === 'conv2d' ? 'Conv2d: split' : kind;
}

/** The formulation a GC kind runs at G groups of C/G channels ('conv' at G = 1: every path is a plain conv). */
function gcImplAt(kind: GcKind, g: number, channels: number): string {
  if (g === 1) return 'conv';
  if (kind === 'conv2d') return 'split';
  return kind === 'auto' ? chooseGroupedConvImpl(g, channels / g) : kind;
}

function gcShort(kind: GcKind): string {
  return kind === 'conv2d' ? 'Conv2d' : gcLabel(kind);
}

function gcDescription(kind: GcKind): string {
  if (kind === 'conv2d') return 'Conv2d (src/nn/conv2d.ts) with groups → functional.conv2d: split x and W into G channel slices, G tf.conv2d, concat';
  if (kind === 'auto') return 'GroupedConv2d (src/nn/grouped-conv.ts), impl "auto" (what ResNeXt uses): chooseGroupedConvImpl per (G, C/G)';
  return `GroupedConv2d (src/nn/grouped-conv.ts), impl "${kind}" forced`;
}

function makeLayer(kind: LayerKind, g: number, channels: number, rng: Rng): Layer {
  const common = { inChannels: channels, outChannels: channels, kernelSize: 3, padding: 1, bias: false, rng };
  if (kind === 'sc') return new Conv2d(common) as Layer;
  if (kind === 'tbc') return new TiedBlockConv2d({ ...common, blocks: g }) as Layer;
  if (kind === 'gc:conv2d') return new Conv2d({ ...common, groups: g }) as Layer;
  if (kind === 'gc:auto') return new GroupedConv2d({ ...common, groups: g }) as Layer;
  return new GroupedConv2d({ ...common, groups: g, impl: kind.slice(3) as GroupedConvImpl }) as Layer;
}

function median(v: number[]): number {
  const sorted = [...v].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The (layer, G, phase) measurements, in the order of the table: SC once, then per G: GC kinds, TBC. */
function jobsOf(cfg: Config): Job[] {
  const jobs: Job[] = [{ layer: 'sc', g: 1, phase: 'fwd' }, { layer: 'sc', g: 1, phase: 'fwdBwd' }];
  for (const g of cfg.groups) {
    for (const phase of ['fwd', 'fwdBwd'] as const) {
      for (const k of cfg.gc) jobs.push({ layer: `gc:${k}`, g, phase });
      jobs.push({ layer: 'tbc', g, phase });
    }
  }
  return jobs;
}

async function child(cfg: Config): Promise<ChildResult> {
  const info = await initEngine({ backend: cfg.backend, threads: cfg.threads });
  const rng = new Rng(1);
  const { batch: n, size: s, channels: C } = cfg;
  const x = tf.tensor(rng.normalArray(n * s * s * C), [n, s, s, C]);
  const xv = tf.variable(x) as tf.Variable<tf.Rank.R4>;
  x.dispose();
  const layers = new Map<string, Layer>();
  const layerOf = (kind: LayerKind, g: number): Layer => {
    const key = `${kind}:${g}`;
    if (!layers.has(key)) layers.set(key, makeLayer(kind, g, C, rng));
    return layers.get(key)!;
  };
  const call = (job: Job): (() => Promise<void>) => {
    const layer = layerOf(job.layer, job.g);
    return job.phase === 'fwd'
      ? async () => {
          const y = tf.tidy(() => layer.forward(xv));
          await y.data();
          y.dispose();
        }
      : async () => {
          const { value, grads } = tf.variableGrads(() => tf.sum(layer.forward(xv)) as tf.Scalar, [xv, layer.weight]);
          await Promise.all(Object.values(grads).map((t) => t.data()));
          tf.dispose([value, ...Object.values(grads)]);
        };
  };
  const jobs = jobsOf(cfg).map((job) => ({ key: jobKey(job), job, fn: call(job) }));
  const cells: Record<string, Cell> = {};
  const runs = new Map<string, number[]>();
  const log = (m: string) => process.stderr.write(`  [${info.backend} ×${info.threads}] ${m}\n`);

  // Warm-up: every measurement once (a failure drops that measurement, not the run).
  const live: typeof jobs = [];
  for (const j of jobs) {
    const t0 = performance.now();
    try {
      await j.fn();
      live.push(j);
      runs.set(j.key, []);
      log(`warm-up ${j.key}: ${(performance.now() - t0).toFixed(0)} ms`);
    } catch (e) {
      cells[j.key] = { ok: false, error: e instanceof Error ? e.message.split('\n')[0]! : String(e) };
      log(`warm-up ${j.key}: FAILED (${(cells[j.key] as { error: string }).error})`);
    }
  }
  const before = tf.memory().numTensors;
  const loadBefore = loadavg();
  for (let r = 0; r < cfg.repeats; r++) {
    const t0 = performance.now();
    for (let i = 0; i < live.length; i++) {
      const j = live[(i + r * Math.max(1, Math.floor(live.length / cfg.repeats))) % live.length]!;
      const t = performance.now();
      await j.fn();
      runs.get(j.key)!.push(performance.now() - t);
    }
    log(`round ${r + 1}/${cfg.repeats}: ${((performance.now() - t0) / 1000).toFixed(1)} s, load ${loadavg()[0]!.toFixed(2)}`);
  }
  const loadAfter = loadavg();
  const drift = tf.memory().numTensors - before;
  if (drift !== 0) log(`warning: tensor count drifted by ${drift}`);
  for (const j of live) {
    const runsMs = runs.get(j.key)!;
    cells[j.key] = {
      ok: true,
      timing: { medianMs: median(runsMs), minMs: Math.min(...runsMs), runsMs },
      params: layerOf(j.job.layer, j.job.g).numParameters(),
    };
  }
  for (const l of layers.values()) l.dispose();
  xv.dispose();
  return {
    backend: info.backend,
    threads: info.threads,
    simd: info.simd,
    cells,
    loadAvg: { before: loadBefore, after: loadAfter },
    numTensorsDrift: drift,
  };
}

function parsePositive(name: string, fallback: number): number {
  const raw = argValue(name);
  const v = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer, got "${raw}"`);
  return v;
}

function readConfig(): Config {
  const groups = (argValue('groups') ?? '1,2,4,8,16,32').split(',').map(Number);
  if (!groups.every((g) => Number.isInteger(g) && g >= 1)) throw new Error(`--groups: expected positive integers`);
  const gc = (argValue('gc') ?? 'auto,conv2d').split(',') as GcKind[];
  const badGc = gc.filter((k) => !GC_KINDS.includes(k));
  if (badGc.length || !gc.length) throw new Error(`--gc: unknown ${badGc.join(',')}; expected some of ${GC_KINDS.join(', ')}`);
  const cfg: Config = {
    backend: (argValue('backend') ?? 'wasm') as BackendName,
    threads: parsePositive('threads', availableParallelism()),
    repeats: parsePositive('repeats', 5),
    batch: parsePositive('batch', 8),
    size: parsePositive('size', 56),
    channels: parsePositive('channels', 256),
    groups,
    gc: [...new Set(gc)],
  };
  const bad = cfg.groups.filter((g) => cfg.channels % g !== 0);
  if (bad.length) throw new Error(`--groups ${bad.join(',')} do not divide --channels ${cfg.channels}`);
  return cfg;
}

function configArgs(cfg: Config): string[] {
  return [
    '--backend', cfg.backend, '--threads', String(cfg.threads), '--repeats', String(cfg.repeats),
    '--batch', String(cfg.batch), '--size', String(cfg.size), '--channels', String(cfg.channels),
    '--groups', cfg.groups.join(','), '--gc', cfg.gc.join(','),
  ];
}

const jobKey = (j: Job) => `${j.layer}:${j.g}:${j.phase}`;

type Results = ChildResult;

function ms(cells: Record<string, Cell>, layer: LayerKind, g: number, phase: Phase, stat: 'medianMs' | 'minMs' = 'medianMs'): number {
  const c = cells[jobKey({ layer, g, phase })];
  return c?.ok ? c.timing[stat] : Number.NaN;
}

const show = (v: number) => (Number.isFinite(v) ? v : '—');
const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) ? `${(a / b).toFixed(2)}×` : '—');

function chart(cfg: Config, res: Results): string {
  const { cells } = res;
  const xs = cfg.groups;
  const sc = (p: Phase) => ms(cells, 'sc', 1, p);
  const gcColors = ['#D55E00', '#CC79A7', '#E69F00', '#009E73', '#56B4E9'];
  const panel = (title: string, p: Phase) => ({
    title,
    xLabel: 'groups G = tied blocks B (log₂ scale)',
    yLabel: 'time per call (ms, median)',
    xScale: 'log2' as const,
    series: [
      { name: 'SC (standard conv)', points: xs.map((x) => ({ x, y: sc(p) })), color: '#555555', dash: '7 5' },
      ...cfg.gc.map(
        (k, i): Series => ({
          name: `GC (${gcLabel(k)})`,
          points: xs.map((x) => ({ x, y: ms(cells, `gc:${k}`, x, p) })),
          color: gcColors[i % gcColors.length]!,
          ...(i > 0 ? { dash: '5 3' } : {}),
        }),
      ),
      { name: 'TBC (B blocks)', points: xs.map((x) => ({ x, y: ms(cells, 'tbc', x, p) })), color: '#0072B2' },
      { name: 'SC / B (ideal)', points: xs.map((x) => ({ x, y: sc(p) / x })), color: '#9bbbd4', dash: '2 4' },
    ],
  });
  const e = res;
  return lineChart({
    title: `3×3 conv ${cfg.channels}→${cfg.channels}: standard vs group vs tied block (paper Fig. 3)`,
    subtitle:
      `input ${cfg.batch}×${cfg.size}×${cfg.size}×${cfg.channels} NHWC, TF.js ${tf.version.tfjs} ${e.backend}` +
      `${e.simd ? ' SIMD' : ''}, ${e.threads} thread${e.threads === 1 ? '' : 's'}, ` +
      `median of ${cfg.repeats} interleaved calls after warm-up, ` +
      `load average ${e.loadAvg.before[0]!.toFixed(1)} → ${e.loadAvg.after[0]!.toFixed(1)}` +
      cfg.gc
        .map((k) => `\nGC (${gcLabel(k)}) runs: ${xs.map((g) => `G=${g} ${gcImplAt(k, g, cfg.channels)}`).join(', ')}`)
        .join(''),
    panels: [panel('Forward', 'fwd'), panel('Forward + backward (dx, dW)', 'fwdBwd')],
    panelWidth: cfg.gc.length > 1 ? 520 : 480,
    panelHeight: 380,
  });
}

/** The G = B table of one statistic (median, or the fastest call). */
function timeTable(cfg: Config, cells: Record<string, Cell>, stat: 'medianMs' | 'minMs'): string {
  const [gc0, ...gcMore] = cfg.gc as [GcKind, ...GcKind[]];
  const header = ['G=B', 'SC fwd', 'GC fwd', 'TBC fwd', 'SC fwd+bwd', 'GC fwd+bwd', 'TBC fwd+bwd'];
  for (const k of gcMore) header.push(`GC[${gcShort(k)}] fwd`, `GC[${gcShort(k)}] fwd+bwd`);
  header.push('GC runs');
  const at = (layer: LayerKind, g: number, p: Phase) => ms(cells, layer, g, p, stat);
  const rows = cfg.groups.map((g) => [
    String(g),
    ...[at('sc', 1, 'fwd'), at(`gc:${gc0}`, g, 'fwd'), at('tbc', g, 'fwd')].map(show),
    ...[at('sc', 1, 'fwdBwd'), at(`gc:${gc0}`, g, 'fwdBwd'), at('tbc', g, 'fwdBwd')].map(show),
    ...gcMore.flatMap((k) => [at(`gc:${k}`, g, 'fwd'), at(`gc:${k}`, g, 'fwdBwd')].map(show)),
    gcImplAt(gc0, g, cfg.channels),
  ]);
  return table(header, rows);
}

/** Print the tables and write the SVG (and, for a fresh measurement, the JSON). */
function report(cfg: Config, res: ChildResult, out: string, fresh: boolean): void {
  const { cells } = res;
  const [gc0, ...gcMore] = cfg.gc as [GcKind, ...GcKind[]];
  const load = (v: number[]) => v.map((x) => x.toFixed(2)).join(' ');
  process.stdout.write(
    `\n3×3 conv ${cfg.channels}→${cfg.channels}, x ${cfg.batch}×${cfg.size}×${cfg.size}, ` +
      `${res.backend} ×${res.threads} threads, median ms of ${cfg.repeats} interleaved calls after warm-up ` +
      `(SC measured once; load average ${load(res.loadAvg.before)} before, ${load(res.loadAvg.after)} after)\n` +
      `GC = ${gcDescription(gc0)}\n` +
      gcMore.map((k) => `GC[${gcShort(k)}] = ${gcDescription(k)}\n`).join('') +
      `${timeTable(cfg, cells, 'medianMs')}\n`,
  );
  const ratios = cfg.groups.map((g) => {
    const sc = (p: Phase) => ms(cells, 'sc', 1, p);
    const t = (p: Phase) => ms(cells, 'tbc', g, p);
    const gc = (p: Phase) => ms(cells, `gc:${gc0}`, g, p);
    return [String(g), ratio(t('fwd'), gc('fwd')), ratio(t('fwdBwd'), gc('fwdBwd')), ratio(sc('fwd'), t('fwd')), ratio(sc('fwdBwd'), t('fwdBwd'))];
  });
  process.stdout.write(`\n${table(['G=B', 'TBC/GC fwd', 'TBC/GC fwd+bwd', 'SC/TBC fwd (ideal = B)', 'SC/TBC fwd+bwd'], ratios)}\n`);
  process.stdout.write(
    `\nfastest of the ${cfg.repeats} calls (ms; the least-disturbed call when other jobs load the machine)\n` +
      `${timeTable(cfg, cells, 'minMs')}\n`,
  );
  for (const [k, c] of Object.entries(cells)) if (!c.ok) process.stdout.write(`failed: ${k}: ${c.error}\n`);
  if (res.numTensorsDrift !== 0) process.stdout.write(`warning: tensor count drifted by ${res.numTensorsDrift}\n`);
  if (fresh) {
    writeJson(out, {
      date: new Date().toISOString(),
      machine: { cores: availableParallelism(), cpu: cpus()[0]?.model.trim(), node: process.versions.node },
      tfjs: tf.version.tfjs,
      engine: { backend: res.backend, threads: res.threads, simd: res.simd },
      loadAvg: res.loadAvg,
      numTensorsDrift: res.numTensorsDrift,
      config: cfg,
      implementations: {
        sc: 'Conv2d (groups 1) → tf.conv2d',
        tbc: 'TiedBlockConv2d (src/layers/tbc.ts): blocks moved into the batch (rank-3 transpose), one tf.conv2d, back',
        gc: Object.fromEntries(cfg.gc.map((k) => [k, gcDescription(k)])),
        tableGc: gc0,
      },
      /** Median ms per row; NaN (null in JSON) where the measurement failed. */
      rows: cfg.groups.map((g) => ({
        g,
        sc: { fwd: ms(cells, 'sc', 1, 'fwd'), fwdBwd: ms(cells, 'sc', 1, 'fwdBwd') },
        tbc: { fwd: ms(cells, 'tbc', g, 'fwd'), fwdBwd: ms(cells, 'tbc', g, 'fwdBwd') },
        gc: Object.fromEntries(
          cfg.gc.map((k) => [
            k,
            { impl: gcImplAt(k, g, cfg.channels), fwd: ms(cells, `gc:${k}`, g, 'fwd'), fwdBwd: ms(cells, `gc:${k}`, g, 'fwdBwd') },
          ]),
        ),
      })),
      cells,
    });
    process.stdout.write(`\nwrote ${out}\n`);
  }
  const svgOut = `${out.replace(/\.json$/, '')}.svg`;
  writeFileSync(svgOut, chart(cfg, res));
  process.stdout.write(`wrote ${svgOut}\n`);
}

async function main(): Promise<void> {
  const fromJson = argValue('from-json');
  if (fromJson !== undefined) {
    // Re-print and re-draw a saved run (no measuring): --from-json work_dirs/bench/tbc.json
    const saved = JSON.parse(readFileSync(fromJson, 'utf8')) as {
      config: Config;
      engine: { backend: BackendName; threads: number; simd: boolean };
      loadAvg: ChildResult['loadAvg'];
      numTensorsDrift: number;
      cells: Record<string, Cell>;
    };
    report(saved.config, { ...saved.engine, cells: saved.cells, loadAvg: saved.loadAvg, numTensorsDrift: saved.numTensorsDrift }, argValue('out') ?? fromJson, false);
    return;
  }
  const cfg = readConfig();
  if (argValue('child') !== undefined) {
    process.stdout.write(`${JSON.stringify(await child(cfg))}\n`);
    return;
  }
  const out = argValue('out') ?? join(repoRoot, 'work_dirs', 'bench', 'tbc.json');
  process.stderr.write(
    `bench:tbc — ${cfg.backend} ×${cfg.threads}, x ${cfg.batch}×${cfg.size}×${cfg.size}×${cfg.channels}, ` +
      `G=B ∈ {${cfg.groups.join(', ')}}, GC = ${cfg.gc.map(gcDescription).join(' | ')}, ${cfg.repeats} repeats (median)\n`,
  );
  report(cfg, runChild<ChildResult>(SCRIPT, ['--child', '1', ...configArgs(cfg)]), out, true);
}

await main();
process.exit(0);
