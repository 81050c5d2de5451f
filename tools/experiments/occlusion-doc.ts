/**
 * The occlusion experiment's summary page (docs/experiments/occlusion.md): the setting and machine, the model
 * table (parameters, backbone MACs, time, AP, AP75, AP at r ≥ 0.6 with bootstrap intervals), the gaps to ResNet
 * per occlusion bin with paired intervals, the filter-similarity means per stage, the charts as SVG files next
 * to the page, and a reading generated from the numbers (what the intervals do and do not allow to say).
 */
import { cpus, loadavg } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import type { OcclusionScale } from '../../configs/occlusion-experiment_synthetic_small.js';
import { filterCharts } from '../../eval/filter-report.js';
import type { OcclusionReport } from '../../eval/occlusion-report.js';
import { reportCharts } from '../../eval/report/charts.js';
import { fmtGap, fmtInterval, fmtPoints, type ModelCell, type SubsetRow } from '../../eval/report/model.js';
import { INIT_SUFFIX, type FilterPhaseResult } from './occlusion-filters.js';

export interface ModelRun {
  backbone: string;
  label: string;
  seed: number;
  workDir: string;
  checkpoint: string;
  resultsFile: string;
  metrics: Record<string, number>;
  detectorParams: number;
  backboneParams: number;
  backboneMacs: number;
  macsInput: [number, number];
  trainSeconds: number;
  iterations: number;
  inferenceSeconds: number;
  valImages: number;
}

export interface OcclusionDocInput {
  file: string;
  quick: boolean;
  scale: OcclusionScale;
  seeds: readonly number[];
  runs: ModelRun[];
  /** Pooled first when there are several seeds, then one per seed. */
  reports: { name: string; report: OcclusionReport; html: string }[];
  filters: FilterPhaseResult | null;
  wallSeconds: number;
  backend: string;
}

const ci = (c: ModelCell, stat: 'AP' | 'AP75'): string => (c.ci?.[stat] ? ` ${fmtInterval(c.ci[stat])}` : '');
const gapCi = (c: ModelCell, stat: 'AP' | 'AP75'): string => (c.gapCi?.[stat] ? ` ${fmtInterval(c.gapCi[stat], true)}` : '');

function level(r: OcclusionReport, t: number): SubsetRow | undefined {
  return r.levels.find((l) => Math.abs(l.lo - t) < 1e-9);
}

/** Whether a paired interval excludes 0, and on which side. */
function sideOf(c: ModelCell, stat: 'AP' | 'AP75'): 'above' | 'below' | 'spans' | 'none' {
  const g = c.gapCi?.[stat];
  if (!g) return 'none';
  if (g.lo > 0) return 'above';
  if (g.hi < 0) return 'below';
  return 'spans';
}

export function writeOcclusionDoc(o: OcclusionDocInput): string {
  const dir = dirname(o.file);
  const figDir = join(dir, basename(o.file, '.md'));
  mkdirSync(figDir, { recursive: true });
  const rel = (p: string): string => relative(dir, p);
  const main = o.reports[0]!;
  const r = main.report;
  const models = r.models.map((m) => m.name);
  const L: string[] = [];
  const s = o.scale;
  L.push(`# ResNet vs TiedResNet under occlusion, and filter similarity (${o.quick ? 'quick run' : 'full run'})`);
  L.push('');
  L.push(
    `Written by \`npm run experiment:occlusion${o.quick ? ' -- --quick' : ''}\` (tools/experiments/occlusion.ts) on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC. ` +
      'The paper\'s claims (PAPER.md Fig. 7: TiedResNet detectors lose less AP as occlusion grows; Fig. 1 / 9: tied filters are less redundant) tried at toy scale.',
  );
  L.push('');
  L.push('## Setting');
  L.push('');
  const run0 = o.runs[0]!;
  // the pooled report's "images" are (seed, image) pairs: the val set itself is 1 / seeds of that
  const pooled = o.reports[0]!.name === 'pooled';
  const perSeed = (n: number): number => (pooled ? n / o.seeds.length : n);
  L.push(
    `- Data: the synthetic \`small\` preset (8 shape classes) generated with ${s.images} images at ${s.size}×${s.size} (${perSeed(r.gt.images)} val images, ${perSeed(r.gt.instances)} val instances), trained and tested at scale ${s.scale}.`,
  );
  L.push(
    `- Models: the same RetinaNet (FPN and head 32 wide) on three backbones of one shape (configs/occlusion-experiment_synthetic_small.ts): ${models.join(', ')}; from scratch, no ImageNet weights.`,
  );
  L.push(
    `- Budget: ${run0.iterations} updates of 8 images per model (${s.epochs} epochs), AdamW lr 0.001, the same data order for every backbone of a seed; seeds ${o.seeds.join(', ')}${o.quick ? ' (quick: one seed, a small set, a short schedule)' : ''}.`,
  );
  L.push(
    `- Machine: ${cpus().length} CPU cores (${cpus()[0]?.model ?? 'unknown'}), TF.js backend ${o.backend}; load average at the end ${loadavg().map((v) => v.toFixed(1)).join(', ')} (the cores were shared with other work, so times are upper bounds); this session ${(o.wallSeconds / 60).toFixed(1)} min (models already done are not retrained).`,
  );
  L.push(
    `- Occlusion: ${r.definition.formula} per image (${r.definition.name}); ${r.binning.n} bins; ${r.bootstrap ? `${r.bootstrap.replicates} paired bootstrap resamples of the images, ${Math.round(100 * r.bootstrap.confidence)} % basic intervals` : 'no bootstrap'}${o.reports.length > 1 ? '; "pooled" treats every (seed, image) pair as one image (each seed\'s detections on its own copy of the val set)' : ''}.`,
  );
  L.push('');
  L.push(`## Models (${main.name === 'pooled' ? 'seeds pooled' : main.name})`);
  L.push('');
  L.push('| backbone | detector params | backbone params | backbone MACs | train time | AP | AP75 | AP at r ≥ 0.6 | AP75 at r ≥ 0.6 |');
  L.push('|---|---|---|---|---|---|---|---|---|');
  const l06 = level(r, 0.6);
  r.models.forEach((m, i) => {
    const runs = o.runs.filter((x) => x.label === m.name);
    const ov = r.overall.models[i]!;
    const lv = l06?.models[i];
    const secs = runs.reduce((a, x) => a + x.trainSeconds, 0) / Math.max(1, runs.length);
    L.push(
      `| ${m.name} | ${(runs[0]!.detectorParams / 1e6).toFixed(2)} M | ${(runs[0]!.backboneParams / 1e6).toFixed(3)} M | ${(runs[0]!.backboneMacs / 1e6).toFixed(0)} M at ${runs[0]!.macsInput.join('×')} | ${(secs / 60).toFixed(1)} min | ` +
        `${fmtPoints(ov.stats?.AP)}${ci(ov, 'AP')} | ${fmtPoints(ov.stats?.AP75)}${ci(ov, 'AP75')} | ${lv ? `${fmtPoints(lv.stats?.AP)}${ci(lv, 'AP')}` : ''} | ${lv ? `${fmtPoints(lv.stats?.AP75)}${ci(lv, 'AP75')}` : ''} |`,
    );
  });
  L.push('');
  L.push(`AP in points (COCO AP × 100) with ${r.bootstrap ? `${Math.round(100 * r.bootstrap.confidence)} % bootstrap intervals` : 'no intervals'}; r ≥ 0.6: ${l06?.images ?? 0} images. Train time per model, averaged over seeds.`);
  if (o.reports.length > 1) {
    L.push('');
    L.push('Per seed (AP / AP75 on all val images):');
    L.push('');
    L.push(`| seed | ${models.join(' | ')} |`);
    L.push(`|---|${models.map(() => '---').join('|')}|`);
    for (const rep of o.reports.slice(1)) {
      L.push(`| ${rep.name} | ${rep.report.overall.models.map((c) => `${fmtPoints(c.stats?.AP)} / ${fmtPoints(c.stats?.AP75)}`).join(' | ')} |`);
    }
  }
  L.push('');
  L.push(`## Gap to ${r.baseline} per occlusion bin (${main.name === 'pooled' ? 'seeds pooled' : main.name})`);
  L.push('');
  const others = r.models.slice(1).map((m) => m.name);
  L.push(`| bin | images | ${others.map((n) => `${n} − ${r.baseline} AP`).join(' | ')} | ${others.map((n) => `${n} − ${r.baseline} AP75`).join(' | ')} |`);
  L.push(`|---|---|${others.map(() => '---').join('|')}|${others.map(() => '---').join('|')}|`);
  for (const row of [...r.bins, r.overall]) {
    const cells = (stat: 'AP' | 'AP75') => row.models.slice(1).map((c) => (row.images ? `${fmtGap(c.gap?.[stat])}${gapCi(c, stat)}` : 'no images'));
    L.push(`| ${row.label} | ${row.images} | ${cells('AP').join(' | ')} | ${cells('AP75').join(' | ')} |`);
  }
  L.push('');
  L.push('Gaps in points, paired bootstrap intervals (the same resampled images for both models).');
  L.push('');
  // figures
  for (const ch of reportCharts(r)) {
    const f = join(figDir, `${ch.id}.svg`);
    writeFileSync(f, `<?xml version="1.0" encoding="UTF-8"?>\n${ch.svg.trim().replace('<svg ', '<svg ')}\n`);
    L.push(`![${ch.title}](${rel(f)})`);
    L.push('');
  }
  L.push(`The full reports: ${o.reports.map((x) => `\`${relative(process.cwd(), x.html)}\` (${x.name})`).join(', ')}.`);
  L.push('');
  if (o.filters) {
    const fr = o.filters.report;
    L.push('## Filter similarity (Fig. 1 / 9)');
    L.push('');
    L.push(`Mean pairwise cosine similarity per stage (seed ${o.seeds[0]}'s trained backbones). Sample: ${fr.sample}`);
    L.push('');
    const stages = fr.models[0]!.stages.map((st) => st.stage);
    L.push(`| view | backbone | ${stages.map((st) => st.toUpperCase()).join(' | ')} |`);
    L.push(`|---|---|${stages.map(() => '---').join('|')}|`);
    for (const view of ['guided', 'weights'] as const) {
      for (const m of fr.models) {
        L.push(`| ${view} | ${m.name} | ${stages.map((st) => { const v = m.summary[st]?.[view]; return v ? `${v.mean.toFixed(3)} (> 0.5: ${(100 * v.above05).toFixed(0)} %)` : ''; }).join(' | ')} |`);
      }
    }
    L.push('');
    for (const ch of filterCharts(fr)) {
      const f = join(figDir, `filters-${ch.view}.svg`);
      writeFileSync(f, `<?xml version="1.0" encoding="UTF-8"?>\n${ch.svg.trim()}\n`);
      L.push(`![filter similarity, ${ch.view}](${rel(f)})`);
      L.push('');
    }
    L.push(`The full report: \`${relative(process.cwd(), o.filters.html)}\`.`);
    L.push('');
  }
  L.push('## Reading (generated from the numbers above)');
  L.push('');
  L.push(...readingLines(o));
  L.push('');
  writeFileSync(o.file, `${L.join('\n')}\n`);
  return o.file;
}

function readingLines(o: OcclusionDocInput): string[] {
  const r = o.reports[0]!.report;
  const out: string[] = [];
  const aps = r.overall.models.map((c) => c.stats?.AP ?? -1);
  const best = Math.max(...aps);
  if (best < 0.2) {
    out.push(
      `- The detectors are weak (best overall AP ${fmtPoints(best)}): with this budget they are far from converged, so occlusion effects are confounded with "barely detects anything". ` +
        'Differences between backbones here say more about how fast each learns from scratch than about robustness to occlusion.',
    );
  }
  for (let i = 1; i < r.models.length; i++) {
    const name = r.models[i]!.name;
    const ov = r.overall.models[i]!;
    const side = sideOf(ov, 'AP');
    out.push(
      `- ${name} − ${r.baseline}, all images: AP ${fmtGap(ov.gap?.AP)}${gapCi(ov, 'AP')} — ` +
        (side === 'spans' ? 'the interval includes 0: no difference shown.' : side === 'above' ? `${name} is better, the interval excludes 0.` : side === 'below' ? `${name} is worse, the interval excludes 0.` : 'no interval.'),
    );
    const bins = r.bins.filter((b) => b.images > 0);
    const excl = bins.filter((b) => ['above', 'below'].includes(sideOf(b.models[i]!, 'AP')));
    out.push(
      `  Per bin: ${excl.length} of ${bins.length} non-empty bins have an AP-gap interval that excludes 0` +
        (excl.length ? ` (${excl.map((b) => `${b.label}: ${fmtGap(b.models[i]!.gap?.AP)}`).join('; ')})` : '') +
        ` (at 95 % each, about ${(bins.length * 0.05).toFixed(1)} of ${bins.length} would exclude 0 by chance alone). The paper's claim is a gap that GROWS with r; ` +
        trend(bins, i),
    );
  }
  out.push(
    `- Intervals come from resampling ${o.reports[0]!.name === 'pooled' ? `${r.gt.images / o.seeds.length} val images × ${o.seeds.length} seeds` : `${r.gt.images} val images`}; they do not cover seed-to-seed variation ${o.seeds.length > 1 ? 'beyond what the pooled resampling sees' : '(one seed only: a different seed can change the ranking)'}.`,
  );
  if (o.filters) {
    const fr = o.filters.report;
    const stages = fr.models[0]!.stages.map((s) => s.stage);
    const trained = fr.models.filter((m) => !m.name.endsWith(INIT_SUFFIX));
    const base = trained[0]!;
    const gm = (m: (typeof fr.models)[number], st: string): number => m.summary[st]?.guided?.mean ?? NaN;
    for (const m of trained) {
      const init = fr.models.find((x) => x.name === `${m.name}${INIT_SUFFIX}`);
      if (!init) continue;
      out.push(
        `- ${m.name}, trained − untrained mean guided similarity per stage: ${stages.map((st) => `${st.toUpperCase()} ${fmtSigned(gm(m, st) - gm(init, st))}`).join(', ')} ` +
          '(how much of the similarity the training added; the rest comes from the architecture and the image).',
      );
    }
    for (const m of trained.slice(1)) {
      const lower = stages.filter((st) => (m.summary[st]?.guided?.mean ?? NaN) < (base.summary[st]?.guided?.mean ?? NaN));
      out.push(
        `- Filter similarity (guided patterns): ${m.name}'s mean is below ${base.name}'s in ${lower.length} of ${stages.length} stages` +
          `${lower.length ? ` (${lower.map((s) => s.toUpperCase()).join(', ')})` : ''}. The paper's Fig. 9 shows tied filters less similar; ` +
          `this sample (${o.filters.filters} filters, ${o.filters.images} images, no intervals) is small — read it as a direction, not a measurement.`,
      );
    }
  }
  return out;
}

function fmtSigned(v: number): string {
  return Number.isFinite(v) ? `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(3)}` : 'n/a';
}

/** A sentence on whether the gap of model i rises with r (least-squares slope over the non-empty bins, by images). */
function trend(bins: SubsetRow[], i: number): string {
  const pts = bins.filter((b) => b.models[i]!.gap?.AP !== null && b.models[i]!.gap?.AP !== undefined).map((b) => ({ x: (b.lo + b.hi) / 2, y: b.models[i]!.gap!.AP!, w: b.images }));
  if (pts.length < 3) return 'too few bins with a gap to tell.';
  const W = pts.reduce((a, p) => a + p.w, 0);
  const mx = pts.reduce((a, p) => a + p.w * p.x, 0) / W;
  const my = pts.reduce((a, p) => a + p.w * p.y, 0) / W;
  const sxx = pts.reduce((a, p) => a + p.w * (p.x - mx) ** 2, 0);
  const slope = pts.reduce((a, p) => a + p.w * (p.x - mx) * (p.y - my), 0) / sxx;
  return `the image-weighted slope of the gap against r is ${slope >= 0 ? '+' : '−'}${(100 * Math.abs(slope)).toFixed(1)} points per unit of r (no interval: with per-bin intervals as wide as these, a slope of this size is not evidence either way).`;
}
