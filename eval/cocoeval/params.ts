/**
 * COCOeval's parameters (pycocotools `Params` for bbox / segm: IoU thresholds .50:.05:.95 and recall thresholds
 * 0:.01:1 bit for bit as numpy's `linspace`, area ranges, maxDets 1/10/100).
 */

export type IouType = 'bbox' | 'segm';

/** numpy `linspace(start, stop, num)` (endpoint=True) with numpy's exact float64 values: start + i·step, last = stop. */
export function linspace(start: number, stop: number, num: number): Float64Array {
  const y = new Float64Array(num);
  const div = num - 1;
  const delta = stop - start;
  if (div > 0) {
    const step = delta / div;
    for (let i = 0; i < num; i++) y[i] = step === 0 ? ((i / div) * delta) + start : i * step + start;
    y[num - 1] = stop;
  } else if (num === 1) {
    y[0] = start;
  }
  return y;
}

/** Evaluation parameters; defaults are pycocotools' `Params.setDetParams()`. */
export class Params {
  iouType: IouType;
  /** Image ids to evaluate; the constructor of `CocoEval` fills in every GT image (sorted). */
  imgIds: number[] = [];
  /** Category ids to evaluate; filled with every GT category (sorted). */
  catIds: number[] = [];
  /** IoU thresholds: linspace(.5, .95, 10), numpy's values (0.8999999999999999 included). */
  iouThrs: Float64Array = linspace(0.5, 0.95, Math.round((0.95 - 0.5) / 0.05) + 1);
  /** Recall thresholds: linspace(0, 1, 101). */
  recThrs: Float64Array = linspace(0, 1, Math.round((1 - 0) / 0.01) + 1);
  maxDets: number[] = [1, 10, 100];
  areaRng: [number, number][] = [
    [0, 1e10],
    [0, 32 * 32],
    [32 * 32, 96 * 96],
    [96 * 96, 1e10],
  ];
  areaRngLbl: string[] = ['all', 'small', 'medium', 'large'];
  /** false pools all categories (proposal-style evaluation); catIds then become [-1] in the outputs. */
  useCats = true;

  constructor(iouType: IouType = 'segm') {
    if (iouType !== 'bbox' && iouType !== 'segm') throw new Error(`iouType must be 'bbox' or 'segm', got '${String(iouType)}'`);
    this.iouType = iouType;
  }

  clone(): Params {
    const p = new Params(this.iouType);
    p.imgIds = [...this.imgIds];
    p.catIds = [...this.catIds];
    p.iouThrs = Float64Array.from(this.iouThrs);
    p.recThrs = Float64Array.from(this.recThrs);
    p.maxDets = [...this.maxDets];
    p.areaRng = this.areaRng.map(([a, b]) => [a, b] as [number, number]);
    p.areaRngLbl = [...this.areaRngLbl];
    p.useCats = this.useCats;
    return p;
  }

  toJSON(): Record<string, unknown> {
    return {
      iouType: this.iouType,
      useCats: this.useCats ? 1 : 0,
      imgIds: this.imgIds,
      catIds: this.catIds,
      iouThrs: Array.from(this.iouThrs),
      recThrs: Array.from(this.recThrs),
      maxDets: this.maxDets,
      areaRng: this.areaRng,
      areaRngLbl: this.areaRngLbl,
    };
  }
}
