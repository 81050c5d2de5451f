/**
 * The occlusion experiment's filter phase: tools/runner/filters.ts on the trained backbones of one seed (each
 * with its own config) and on the same backbones untrained, on sampled val images; report in `<out>/filters/` (report.html / .md / .json).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadedConfig } from '../../configs/load.js';
import type { OcclusionBackbone } from '../../configs/occlusion-experiment_synthetic_small.js';
import { writeFilterReport, type FilterReport } from '../../eval/filter-report.js';
import { analyzeFilters, INIT_WEIGHTS } from '../runner/filters.js';
import type { ModelRun } from './occlusion-doc.js';

/** Name suffix of the untrained references in the filter report. */
export const INIT_SUFFIX = ' (init)';

export interface FilterPhaseOptions {
  runs: ModelRun[];
  configOf: (kind: OcclusionBackbone) => LoadedConfig;
  images: string;
  out: string;
  quick: boolean;
  log: (line: string) => void;
}

export interface FilterPhaseResult {
  report: FilterReport;
  html: string;
  /** Filters per stage and images of the sample. */
  filters: number;
  images: number;
}

/** The report.json of an earlier run with the same models and sample, or null. */
function previous(file: string, names: readonly string[], filters: number, images: number): FilterReport | null {
  if (!existsSync(file)) return null;
  try {
    const r = JSON.parse(readFileSync(file, 'utf8')) as FilterReport;
    const same =
      r.format === 'tiedet-filter-report' &&
      r.models.length === names.length &&
      r.models.every((m, i) => m.name === names[i] && m.images === images && m.stages.every((s) => s.filters.length === Math.min(filters, s.channels)));
    return same ? r : null;
  } catch {
    return null;
  }
}

export async function runFilterPhase(o: FilterPhaseOptions): Promise<FilterPhaseResult> {
  const filters = 32;
  const images = o.quick ? 8 : 16;
  const names = [...o.runs.map((r) => r.label), ...o.runs.map((r) => `${r.label}${INIT_SUFFIX}`)];
  const done = previous(join(o.out, 'report.json'), names, filters, images);
  if (done) {
    o.log(`filters: done already (${join(o.out, 'report.json')}); report.html rewritten`);
    return { report: done, html: writeFilterReport(done, o.out).html, filters, images };
  }
  o.log(`filters: guided-backprop analysis of ${o.runs.length} backbones (${filters} filters per stage, ${images} val images)`);
  // The trained backbones, then each one untrained (its seeded initialisation) as a reference: guided
  // backpropagation is known to reflect the image as much as the weights (Adebayo et al. 2018), so the untrained
  // patterns show how much of the similarity training added.
  const report = await analyzeFilters({
    cfg: [...o.runs, ...o.runs].map((r) => o.configOf(r.backbone as OcclusionBackbone)),
    weights: [...o.runs.map((r) => r.checkpoint), ...o.runs.map(() => INIT_WEIGHTS)],
    names,
    images: o.images,
    filters,
    imagesMax: images,
    seed: 0,
    log: (l) => o.log(`  ${l}`),
  });
  const written = writeFilterReport(report, o.out);
  o.log(`filters: ${written.html}`);
  return { report, html: written.html, filters, images };
}
