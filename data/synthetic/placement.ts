/**
 * Object placement with a target occlusion level: the part of the synthetic generator that makes the per-image
 * occlusion ratio (eval/occlusion.ts `boxOcclusionRatio` over the image's modal boxes — the quantity the
 * occlusion report bins by) span [0, 1] with images in every bin.
 *
 * One image is aimed at one bin [b/10, (b+1)/10) (the last bin includes 1). An attempt draws n objects (sizes
 * log-uniform between minRadius and maxRadius, random classes) and clusters their centres around a random point
 * with a Gaussian spread σ = spread · mean radius; objects are painted bottom to top into a label map (z-order:
 * later objects occlude earlier ones). An object whose addition would leave any object with fewer than
 * `minVisiblePixels` visible pixels or less than `minVisibleFraction` of its shape visible is drawn again (smaller);
 * after a few failures it is left out. The attempt's ratio is then computed exactly from the modal boxes (tight
 * boxes of the visible pixels); while it is below the bin, further (smaller) objects join the pile, up to
 * `maxObjects`. An attempt outside the target bin is rejected and the spread adapted — tighter when the ratio is
 * too low, looser when too high — so the search converges on the bin (about 5 attempts per image on average, more
 * for r ≥ 0.9). If no attempt hits the bin within `maxAttempts`, the closest one is kept and reported as a miss.
 */
import type { Rng } from '../../src/nn/rng.js';
import { boxOcclusionRatio } from '../../eval/occlusion.js';
import { rasterizeSpans, Spans, type Shape } from './raster.js';
import { sampleShape, type ShapeClass } from './shapes.js';

export interface PlacementConfig {
  width: number;
  height: number;
  /** Classes to draw from (uniformly); objects record the index into this list. */
  classes: readonly ShapeClass[];
  /** Smallest circumscribed radius in pixels. */
  minRadius: number;
  /** Largest circumscribed radius in pixels (at most half the shorter image side). */
  maxRadius: number;
  /** Most objects per image (≤ 255). */
  maxObjects: number;
  /** An object must keep at least this many visible pixels (default 16). */
  minVisiblePixels?: number;
  /** … and at least this fraction of its shape visible (default 0.2). */
  minVisibleFraction?: number;
  /** Number of occlusion bins over [0, 1] (default 10). */
  bins?: number;
  /** Attempts per image before the closest attempt is kept (default 200). */
  maxAttempts?: number;
}

export interface PlacedObject {
  /** Index into `PlacementConfig.classes`. */
  classIndex: number;
  shape: Shape;
  /** Translation of the shape (its centre) in pixels. */
  ox: number;
  oy: number;
  radius: number;
  /** Tight box [x, y, w, h] of all pixels of the shape, occluded or not (the amodal box). */
  amodal: [number, number, number, number];
  /** Pixel count of the whole shape (the amodal area). */
  fullArea: number;
  /** Pixel runs of the whole shape: (y, x0, x1) triples, x0 ≤ x < x1, rows ascending. */
  spans: Int32Array;
}

export interface Placement {
  /** Bottom to top: objects[k] is painted before (under) objects[k + 1]. */
  objects: PlacedObject[];
  /** Row-major label map: 0 = background, k + 1 = a visible pixel of objects[k]. */
  labels: Uint8Array;
  /** Visible pixel count of each object. */
  visible: number[];
  /** Modal boxes [x, y, w, h] (tight boxes of the visible pixels), flat, in object order. */
  modalBoxes: Float64Array;
  /** boxOcclusionRatio(modalBoxes). */
  ratio: number;
  /** The bin the placement was aimed at and whether it landed there. */
  targetBin: number;
  hit: boolean;
  /** Attempts used (1 = first try). */
  attempts: number;
}

const TRIES_PER_OBJECT = 8;

/** The bin of ratio r among `bins` equal bins over [0, 1]: ⌊r · bins⌋, with r = 1 in the last bin. */
export function occlusionBin(r: number, bins = 10): number {
  return Math.min(bins - 1, Math.max(0, Math.floor(r * bins)));
}

/** Initial spread (σ in mean radii) for a bin: wide for low targets, tight for high ones. */
function initialSpread(bin: number, bins: number): number {
  return 4 * Math.exp((-4.7 * bin) / bins);
}

/** Reusable buffers (one per generator; the label map of a kept placement is copied out). */
class Scratch {
  labels: Uint8Array;
  /** The label map of the best attempt so far (swapped with `labels`, never copied, while searching). */
  bestLabels: Uint8Array;
  readonly spans = new Spans();
  /** Pixels of each object that the candidate would cover (index = label). */
  readonly hidden = new Int32Array(256);
  constructor(readonly width: number, readonly height: number) {
    this.labels = new Uint8Array(width * height);
    this.bestLabels = new Uint8Array(width * height);
  }
}

interface Attempt {
  objects: PlacedObject[];
  visible: number[];
  modalBoxes: Float64Array;
  ratio: number;
}

/** Samples a coordinate around `centre` with std `sigma`, uniform in [lo, hi] when the Gaussian lands outside. */
function around(rng: Rng, centre: number, sigma: number, lo: number, hi: number): number {
  const v = centre + rng.normal() * sigma;
  return v >= lo && v <= hi ? v : rng.uniformIn(lo, hi);
}

/** The cluster of one attempt: centre and Gaussian spread (σ in pixels) of the object centres. */
interface Cluster {
  cx: number;
  cy: number;
  sigma: number;
}

/**
 * Draws an object of class `classIndex` and radius ≈ R around the cluster and paints it on top of `labels`
 * unless it would leave an object below with too little visible (then it is redrawn smaller, up to
 * TRIES_PER_OBJECT times). Returns whether an object was added.
 */
function addObject(
  rng: Rng,
  cfg: Required<PlacementConfig>,
  s: Scratch,
  cluster: Cluster,
  classIndex: number,
  radius: number,
  objects: PlacedObject[],
  visible: number[],
): boolean {
  const { width: W, height: H } = cfg;
  const labels = s.labels;
  let R = radius;
  for (let t = 0; t < TRIES_PER_OBJECT; t++, R = Math.max(cfg.minRadius, R * 0.8)) {
    const shape = sampleShape(cfg.classes[classIndex]!, R, rng);
    const [bx1, by1, bx2, by2] = shape.bounds;
    const ox = around(rng, cluster.cx, cluster.sigma, -bx1, W - bx2);
    const oy = around(rng, cluster.cy, cluster.sigma, -by1, H - by2);
    const spans = rasterizeSpans(shape, ox, oy, W, H, s.spans);
    const sp = spans.data;
    const ns = spans.count;
    let fullArea = 0;
    let x1 = W;
    let x2 = -1;
    for (let k = 0; k < ns; k++) {
      fullArea += sp[3 * k + 2]! - sp[3 * k + 1]!;
      if (sp[3 * k + 1]! < x1) x1 = sp[3 * k + 1]!;
      if (sp[3 * k + 2]! - 1 > x2) x2 = sp[3 * k + 2]! - 1;
    }
    if (fullArea < cfg.minVisiblePixels) continue;
    // How much of each object below would the candidate hide? (Read-only pass; paint only if all stay visible.)
    const hidden = s.hidden;
    hidden.fill(0, 0, objects.length + 1);
    for (let k = 0; k < ns; k++) {
      const row = sp[3 * k]! * W;
      for (let p = row + sp[3 * k + 1]!, e = row + sp[3 * k + 2]!; p < e; p++) hidden[labels[p]!]!++;
    }
    let ok = true;
    for (let j = 0; j < objects.length && ok; j++) {
      const need = Math.max(cfg.minVisiblePixels, cfg.minVisibleFraction * objects[j]!.fullArea);
      if (visible[j]! - hidden[j + 1]! < need) ok = false;
    }
    if (!ok) continue;
    const id = objects.length + 1;
    for (let k = 0; k < ns; k++) {
      const row = sp[3 * k]! * W;
      labels.fill(id, row + sp[3 * k + 1]!, row + sp[3 * k + 2]!);
    }
    for (let j = 0; j < objects.length; j++) visible[j]! -= hidden[j + 1]!;
    const y1 = sp[0]!;
    const y2 = sp[3 * (ns - 1)]!;
    objects.push({
      classIndex,
      shape,
      ox,
      oy,
      radius: R,
      amodal: [x1, y1, x2 - x1 + 1, y2 - y1 + 1],
      fullArea,
      spans: sp.slice(0, 3 * ns),
    });
    visible.push(fullArea);
    return true;
  }
  return false;
}

/**
 * Modal box [x, y, w, h] of object `id` (label) from its spans: in each row the first and last pixel still
 * labelled `id`, found by scanning inwards from both ends of the row's runs — far fewer reads than scanning the box.
 */
function modalBox(labels: Uint8Array, width: number, spans: Int32Array, id: number, out: Float64Array, o: number): void {
  let x1 = Infinity;
  let x2 = -1;
  let y1 = -1;
  let y2 = -1;
  for (let k = 0; k < spans.length; k += 3) {
    const row = spans[k]! * width;
    const a = spans[k + 1]!;
    const b = spans[k + 2]!;
    let left = a;
    while (left < b && labels[row + left] !== id) left++;
    if (left === b) continue;
    let right = b - 1;
    while (labels[row + right] !== id) right--;
    if (left < x1) x1 = left;
    if (right > x2) x2 = right;
    if (y1 < 0) y1 = spans[k]!;
    y2 = spans[k]!;
  }
  if (y1 < 0) return; // fully hidden (never kept): zero box
  out[o] = x1;
  out[o + 1] = y1;
  out[o + 2] = x2 - x1 + 1;
  out[o + 3] = y2 - y1 + 1;
}

/** Modal boxes of the placed objects and their occlusion ratio. */
function measure(labels: Uint8Array, width: number, objects: readonly PlacedObject[]): { modalBoxes: Float64Array; ratio: number } {
  const modalBoxes = new Float64Array(4 * objects.length);
  objects.forEach((obj, j) => modalBox(labels, width, obj.spans, j + 1, modalBoxes, 4 * j));
  return { modalBoxes, ratio: boxOcclusionRatio(modalBoxes) };
}

/**
 * One attempt: n objects clustered with the given spread, painted into scratch.labels; while the ratio is still
 * below `lo`, further objects join the cluster (up to maxObjects) — more overlap is what a too-low ratio lacks.
 */
function attempt(rng: Rng, cfg: Required<PlacementConfig>, n: number, spread: number, lo: number, s: Scratch): Attempt {
  const { width: W, height: H } = cfg;
  s.labels.fill(0);
  const logMin = Math.log(cfg.minRadius);
  const logMax = Math.log(cfg.maxRadius);
  const drawRadius = () => Math.exp(rng.uniformIn(logMin, logMax));
  const radii: number[] = [];
  for (let i = 0; i < n; i++) radii.push(drawRadius());
  // Larger objects at the bottom of a pile more often than not: heavy overlap then still leaves them visible.
  if (rng.uniform() < 0.6) radii.sort((a, b) => b - a);
  const meanR = radii.reduce((a, b) => a + b, 0) / n;
  const cluster: Cluster = { cx: rng.uniformIn(0.2 * W, 0.8 * W), cy: rng.uniformIn(0.2 * H, 0.8 * H), sigma: spread * meanR };
  const objects: PlacedObject[] = [];
  const visible: number[] = [];
  for (let i = 0; i < n; i++) addObject(rng, cfg, s, cluster, rng.int(cfg.classes.length), radii[i]!, objects, visible);
  let m = measure(s.labels, W, objects);
  for (let extra = objects.length; m.ratio < lo && extra < cfg.maxObjects; extra++) {
    // Smaller newcomers on top of a pile: they overlap without hiding what is below.
    const R = Math.min(drawRadius(), meanR);
    if (addObject(rng, cfg, s, cluster, rng.int(cfg.classes.length), R, objects, visible)) m = measure(s.labels, W, objects);
  }
  return { objects, visible, ...m };
}

/**
 * Tight boxes [x, y, w, h] of the pixels labelled 1…n in a row-major label map of the given width (zeros for an
 * absent label), scanning only `region` [x, y, w, h] (default: the whole map). The plain full scan: the
 * generator measures from the objects' spans instead; this is the reference it is checked against.
 */
export function modalBoxesOf(
  labels: Uint8Array,
  width: number,
  n: number,
  region: readonly [number, number, number, number] = [0, 0, width, labels.length / width],
): Float64Array {
  const [rx, ry, rw, rh] = region;
  const x1 = new Int32Array(n + 1).fill(2 ** 30);
  const y1 = new Int32Array(n + 1).fill(2 ** 30);
  const x2 = new Int32Array(n + 1).fill(-1);
  const y2 = new Int32Array(n + 1).fill(-1);
  for (let y = ry; y < ry + rh; y++) {
    for (let x = rx, p = y * width + rx; x < rx + rw; x++, p++) {
      const l = labels[p]!;
      if (l === 0) continue;
      if (x < x1[l]!) x1[l] = x;
      if (x > x2[l]!) x2[l] = x;
      if (y < y1[l]!) y1[l] = y;
      y2[l] = y;
    }
  }
  const out = new Float64Array(4 * n);
  for (let l = 1; l <= n; l++) {
    if (x2[l]! < 0) continue;
    out[4 * (l - 1)] = x1[l]!;
    out[4 * (l - 1) + 1] = y1[l]!;
    out[4 * (l - 1) + 2] = x2[l]! - x1[l]! + 1;
    out[4 * (l - 1) + 3] = y2[l]! - y1[l]! + 1;
  }
  return out;
}

function withDefaults(cfg: PlacementConfig): Required<PlacementConfig> {
  const r = {
    minVisiblePixels: 16,
    minVisibleFraction: 0.2,
    bins: 10,
    maxAttempts: 200,
    ...cfg,
  };
  if (!(r.maxObjects >= 1 && r.maxObjects <= 255)) throw new RangeError(`placement: maxObjects must be in 1…255, got ${r.maxObjects}`);
  if (!(r.minRadius > 0 && r.maxRadius >= r.minRadius)) {
    throw new RangeError(`placement: need 0 < minRadius ≤ maxRadius, got ${r.minRadius}, ${r.maxRadius}`);
  }
  if (2 * r.maxRadius > Math.min(r.width, r.height)) {
    throw new RangeError(`placement: maxRadius ${r.maxRadius} does not fit a ${r.width}×${r.height} image`);
  }
  return r;
}

/**
 * Places objects for one image aimed at occlusion bin `targetBin` (see the file comment). Deterministic in `rng`.
 */
export class Placer {
  readonly width: number;
  readonly height: number;
  private readonly cfg: Required<PlacementConfig>;
  private readonly scratch: Scratch;

  constructor(cfg: PlacementConfig) {
    this.cfg = withDefaults(cfg);
    this.width = cfg.width;
    this.height = cfg.height;
    this.scratch = new Scratch(cfg.width, cfg.height);
  }

  place(rng: Rng, targetBin: number): Placement {
    const cfg = this.cfg;
    const bins = cfg.bins;
    if (!(Number.isInteger(targetBin) && targetBin >= 0 && targetBin < bins)) {
      throw new RangeError(`placement: targetBin must be an integer in 0…${bins - 1}, got ${targetBin}`);
    }
    const lo = targetBin / bins;
    const hi = targetBin === bins - 1 ? Infinity : (targetBin + 1) / bins;
    const maxObjects = cfg.maxObjects;
    // Zero occlusion allows a single object; any overlap needs two, heavy overlap a crowd.
    let nMin = Math.min(maxObjects, targetBin === 0 ? 1 : targetBin < bins / 2 ? 2 : 3);
    let nMax = maxObjects;
    let spread = initialSpread(targetBin, bins);
    const scratch = this.scratch;
    let best: { a: Attempt; dist: number } | undefined;
    let attempts = 0;
    while (attempts < cfg.maxAttempts) {
      attempts++;
      const n = nMin + rng.int(nMax - nMin + 1);
      const a = attempt(rng, cfg, n, spread, lo, scratch);
      const r = a.ratio;
      // An attempt without any object (every draw failed: not seen in practice) is never kept.
      const dist = a.objects.length === 0 ? Infinity : r < lo ? lo - r : r >= hi ? r - hi + 1e-12 : 0;
      if (!best || dist < best.dist) {
        best = { a, dist };
        [scratch.bestLabels, scratch.labels] = [scratch.labels, scratch.bestLabels];
      }
      if (dist === 0) break;
      if (r < lo) {
        spread *= 0.8;
        if (spread < 0.02) {
          spread = 0.02;
          nMin = Math.min(nMax, nMin + 1);
        }
      } else {
        spread *= 1.25;
        if (spread > 8) {
          spread = 8;
          nMax = Math.max(nMin, nMax - 1);
        }
      }
    }
    const { a, dist } = best!;
    return { ...a, labels: scratch.bestLabels.slice(), targetBin, hit: dist === 0, attempts };
  }
}
