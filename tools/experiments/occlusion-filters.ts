/**
 * The occlusion experiment's filter phase: tools/runner/filters.ts on the trained backbones of one seed (each
 * with its own config), on sampled val images; report in `<out>/filters/` (report.html / .md / .json).
 */
import type { LoadedConfig } from '../../configs/load.js';
import type { OcclusionBackbone } from '../../configs/occlusion-experiment_synthetic_small.js';
import { writeFilterReport, type FilterReport } from '../../eval/filter-report.js';
import { analyzeFilters } from '../runner/filters.js';
import type { ModelRun } from './occlusion-doc.js';

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

export async function runFilterPhase(o: FilterPhaseOptions): Promise<FilterPhaseResult> {
  const filters = o.quick ? 16 : 32;
  const images = o.quick ? 4 : 8;
  o.log(`filters: guided-backprop analysis of ${o.runs.length} backbones (${filters} filters per stage, ${images} val images)`);
  const report = await analyzeFilters({
    cfg: o.runs.map((r) => o.configOf(r.backbone as OcclusionBackbone)),
    weights: o.runs.map((r) => r.checkpoint),
    names: o.runs.map((r) => r.label),
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
