/**
 * The filter analysis of trained (or freshly initialised) detectors' backbones — what `tiedet analyze-filters`
 * and the occlusion experiment call: images of a folder (sampled, resized and normalised as the config's test
 * pipeline does), the detector of the config with each weights file loaded, its `backbone` analysed
 * (src/analysis/backbone-filters.ts), and the report (eval/filter-report.ts).
 *
 * Weights: a tiedet checkpoint (.json, its stem, or a work dir for its latest), PyTorch weights (.safetensors /
 * .pth: the detector's mmdetection names, or else a backbone state dict with torchvision names), or `init` (the
 * config's seeded initialisation, untrained — a reference). Errors are `FilterInputError`: one line naming the
 * option and the file.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import type { LoadedConfig } from '../../configs/load.js';
import { buildModel, classCountFor } from '../../configs/load.js';
import { readImage } from '../../data/image.js';
import { normalizeImage } from '../../data/transforms/normalize.js';
import { rescaleSize, resizeBilinear } from '../../data/transforms/resize.js';
import { buildFilterReport, type FilterModelInput, type FilterReport } from '../../eval/filter-report.js';
import { analyzeBackboneFilters, STAGES, type StageName } from '../../src/analysis/backbone-filters.js';
import { sampleIndices } from '../../src/analysis/filter-similarity.js';
import type { InputImage } from '../../src/analysis/guided-backprop.js';
import type { Backbone } from '../../src/backbones/backbone.js';
import { dropClassifier } from '../../src/io/torch-layout.js';
import { loadWeightsInto } from '../../src/io/weights.js';
import { Rng } from '../../src/nn/rng.js';
import { loadCheckpointWeights, resolveCheckpointPath } from '../../src/train/checkpoint-state.js';
import type { Detector } from '../../detectors/detector.js';

export class FilterInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FilterInputError';
  }
}

const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg']);
/** The word `--weights` takes for the untrained, seeded initialisation of the config. */
export const INIT_WEIGHTS = 'init';

export interface FilterRunOptions {
  /** One config for every weights file, or one per weights file (models of different backbones). */
  cfg: LoadedConfig | readonly LoadedConfig[];
  weights: readonly string[];
  /** Display names (default: derived from the weights paths). */
  names?: readonly string[];
  images: string;
  stages?: readonly StageName[];
  filters?: number;
  imagesMax?: number;
  seed?: number;
  log?: (line: string) => void;
}

/** `--layers c2,c5` → stage names. */
export function parseStages(text: string): StageName[] {
  const parts = text.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  if (!parts.length) throw new FilterInputError(`--layers: expected stage names from ${STAGES.join(', ')}, got '${text}'`);
  for (const p of parts) if (!(STAGES as readonly string[]).includes(p)) throw new FilterInputError(`--layers: unknown stage '${p}' (expected ${STAGES.join(', ')})`);
  return [...new Set(parts)] as StageName[];
}

/** The image files of `dir`, sorted by name. */
export function listImages(dir: string): string[] {
  if (!existsSync(dir)) throw new FilterInputError(`--images ${dir}: no such folder`);
  if (!statSync(dir).isDirectory()) throw new FilterInputError(`--images ${dir}: not a folder`);
  const files = readdirSync(dir)
    .filter((f) => IMAGE_EXT.has(extname(f).toLowerCase()))
    .sort();
  if (!files.length) throw new FilterInputError(`--images ${dir}: no .png / .jpg images in this folder`);
  return files.map((f) => join(dir, f));
}

async function loadInputs(files: readonly string[], cfg: LoadedConfig): Promise<InputImage[]> {
  const d = cfg.data.data;
  const out: InputImage[] = [];
  for (const file of files) {
    let img;
    try {
      img = await readImage(file);
    } catch (e) {
      throw new FilterInputError(`--images: ${file}: ${(e as Error).message.split('\n')[0]}`);
    }
    const size = rescaleSize(img.width, img.height, d.scale);
    const resized = size.width === img.width && size.height === img.height ? img : resizeBilinear(img, size.width, size.height);
    out.push({ data: normalizeImage(resized, { mean: d.mean, std: d.std }), height: resized.height, width: resized.width, channels: 3 });
  }
  return out;
}

/** A multi-line message as one line (the first three lines, joined; a checkpoint of another model lists its keys). */
function oneLine(msg: string): string {
  const lines = msg.split('\n').map((l) => l.trim()).filter(Boolean);
  return `${lines.slice(0, 3).join(' ')}${lines.length > 3 ? ' …' : ''}`.slice(0, 400);
}

function defaultName(w: string): string {
  if (w === INIT_WEIGHTS) return 'init';
  if (existsSync(w) && statSync(w).isDirectory()) return basename(w);
  const dir = basename(dirname(w));
  return `${dir}/${basename(w).replace(/\.(json|safetensors|pth)$/, '')}`;
}

/** Loads `w` into `model`; returns a description for the report. */
function loadInto(model: Detector & { backbone?: Backbone }, w: string): string {
  if (w === INIT_WEIGHTS) return 'untrained (the config\'s seeded initialisation)';
  if (!existsSync(w)) throw new FilterInputError(`--weights ${w}: no such file or folder`);
  const ext = extname(w).toLowerCase();
  if (statSync(w).isDirectory() || ext === '.json') {
    try {
      const path = resolveCheckpointPath(w);
      const state = loadCheckpointWeights(model, path);
      return `tiedet checkpoint ${path} (iteration ${state.iteration})`;
    } catch (e) {
      throw new FilterInputError(`--weights ${w}: ${oneLine((e as Error).message)}`);
    }
  }
  if (ext === '.safetensors' || ext === '.pth') {
    try {
      const r = loadWeightsInto(model, w, { strict: false });
      if (r.loadedKeys.length > 0) return `${w} (${r.loadedKeys.length} tensors, detector names)`;
      if (!model.backbone) throw new Error('the detector has no backbone');
      const rb = loadWeightsInto(model.backbone, w, { strict: false, mapName: dropClassifier });
      if (rb.loadedKeys.length === 0) throw new Error('no tensor matches the detector or its backbone');
      return `${w} (${rb.loadedKeys.length} backbone tensors)`;
    } catch (e) {
      throw new FilterInputError(`--weights ${w}: ${oneLine((e as Error).message)}`);
    }
  }
  throw new FilterInputError(`--weights ${w}: expected a tiedet checkpoint (.json or a work dir), .safetensors, .pth, or '${INIT_WEIGHTS}'`);
}

export function checkFilterOptions(o: Pick<FilterRunOptions, 'weights' | 'names' | 'filters' | 'imagesMax'>): void {
  if (!o.weights.length) throw new FilterInputError('--weights: give at least one (a checkpoint, .safetensors, .pth or init)');
  if (o.names && o.names.length !== o.weights.length) {
    throw new FilterInputError(`--names: ${o.names.length} name(s) for ${o.weights.length} --weights`);
  }
  const names = o.names ?? o.weights.map(defaultName);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new FilterInputError(`--names: '${dup}' names two models; give --names with distinct names`);
  for (const w of o.weights) {
    if (w === INIT_WEIGHTS) continue;
    if (!existsSync(w)) throw new FilterInputError(`--weights ${w}: no such file or folder`);
    const ext = extname(w).toLowerCase();
    if (!statSync(w).isDirectory() && !['.json', '.safetensors', '.pth'].includes(ext)) {
      throw new FilterInputError(`--weights ${w}: expected a tiedet checkpoint (.json or a work dir), .safetensors, .pth, or '${INIT_WEIGHTS}'`);
    }
  }
  if (o.filters !== undefined && !(Number.isInteger(o.filters) && o.filters >= 2 && o.filters <= 4096)) {
    throw new FilterInputError(`--filters: expected an integer from 2 to 4096, got ${o.filters}`);
  }
  if (o.imagesMax !== undefined && !(Number.isInteger(o.imagesMax) && o.imagesMax >= 1)) {
    throw new FilterInputError(`--images-max: expected a positive integer, got ${o.imagesMax}`);
  }
}

export async function analyzeFilters(o: FilterRunOptions): Promise<FilterReport> {
  checkFilterOptions(o);
  const log = o.log ?? (() => {});
  const names = o.names ?? o.weights.map(defaultName);
  const filters = o.filters ?? 32;
  const imagesMax = o.imagesMax ?? 8;
  const seed = o.seed ?? 0;
  const all = listImages(o.images);
  const rng = new Rng(`${seed}:images`);
  const files = sampleIndices(all.length, imagesMax, () => rng.uniform()).map((i) => all[i]!);
  const cfgs = Array.isArray(o.cfg) ? (o.cfg as readonly LoadedConfig[]) : o.weights.map(() => o.cfg as LoadedConfig);
  if (cfgs.length !== o.weights.length) throw new FilterInputError(`--config: ${cfgs.length} configs for ${o.weights.length} --weights (give one, or one per --weights)`);
  const inputs = await loadInputs(files, cfgs[0]!);
  log(`images: ${files.length} of ${all.length} in ${o.images} (seeded sample), at ${inputs[0]!.width}×${inputs[0]!.height}`);
  const models: FilterModelInput[] = [];
  for (let m = 0; m < o.weights.length; m++) {
    // only the backbone is analysed: for numClasses 'auto' without a dataset or saved run, the head's class count
    // does not matter for 'init' weights (1 class is built); a checkpoint's config.json gives its own count
    const classes = classCountFor(cfgs[m]!, o.weights[m]!) ?? ((cfgs[m]!.data.numClasses ?? 'auto') === 'auto' ? 1 : undefined);
    const model = buildModel(cfgs[m]!, classes) as Detector & { backbone?: Backbone };
    try {
      if (!model.backbone) throw new FilterInputError(`${cfgs[m]!.file}: ${model.constructor.name} has no 'backbone' to analyse`);
      const source = loadInto(model, o.weights[m]!);
      log(`${names[m]}: ${source}`);
      const r = analyzeBackboneFilters(model.backbone, inputs, {
        stages: o.stages,
        filters,
        seed,
        onImage: (done, total) => log(`${names[m]}: image ${done}/${total}`),
      });
      models.push({ name: names[m]!, source, images: r.images, seconds: r.seconds, stages: r.stages });
    } finally {
      model.dispose();
    }
  }
  const stages = o.stages ?? STAGES;
  const sample =
    `${filters} filters per stage (${stages.map((s) => s.toUpperCase()).join(', ')}; the same channel indices for every model of the same width), ` +
    `drawn with seed ${seed}; ${files.length} of the ${all.length} images of ${o.images} (seeded sample), resized to the config's scale [${cfgs[0]!.data.data.scale.join(', ')}]; ` +
    `guided patterns averaged per pair over the images. The weight view uses every filter of every conv weight of the stage.`;
  return buildFilterReport(models, sample);
}
