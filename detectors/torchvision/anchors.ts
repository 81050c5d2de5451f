/**
 * torchvision's `AnchorGenerator` (torchvision/models/detection/anchor_utils.py), which differs from mmdetection's
 * (src/ops/anchors.ts) in two ways that move boxes:
 *
 * - base anchors are ROUNDED: per level, for ratios r (outer) × sizes s (inner), h = √r, w = 1/h (float32),
 *   ws = w·s, hs = h·s, anchor = round([−ws, −hs, ws, hs] / 2) (torch.round: half to even);
 * - a level's stride is the padded input size // the feature size, per axis (integer division): for an 800-high
 *   input P6 is 13 high and its stride 61, not 64.
 *
 * Grid order (y, x, anchor), shifts x·stride_w, y·stride_h — as mmdetection's, so head outputs flatten the same.
 */
import type { FeatureSize } from '../../src/ops/anchors.js';

/** [A·4] rounded base anchors of one level (ratio-major). */
export function tvBaseAnchors(sizes: readonly number[], ratios: readonly number[]): Float32Array {
  const f = Math.fround;
  const out = new Float32Array(ratios.length * sizes.length * 4);
  let o = 0;
  for (const r of ratios) {
    const h = f(Math.sqrt(f(r)));
    const w = f(1 / h);
    for (const s of sizes) {
      const ws = f(w * f(s));
      const hs = f(h * f(s));
      for (const v of [-ws, -hs, ws, hs]) out[o++] = roundHalfEven(f(v / 2));
    }
  }
  return out;
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Anchors [h·w·A·4] of every level for a padded input of `padH × padW` (see the file comment). */
export function tvGridAnchors(
  sizes: readonly (readonly number[])[],
  ratios: readonly number[],
  featSizes: readonly FeatureSize[],
  padH: number,
  padW: number,
): Float32Array[] {
  if (sizes.length !== featSizes.length) throw new Error(`anchors: ${sizes.length} anchor size groups for ${featSizes.length} feature levels`);
  return featSizes.map(([fh, fw], l) => {
    const base = tvBaseAnchors(sizes[l]!, ratios);
    const A = base.length / 4;
    const sh = Math.floor(padH / fh);
    const sw = Math.floor(padW / fw);
    const out = new Float32Array(fh * fw * A * 4);
    let o = 0;
    for (let y = 0; y < fh; y++) {
      for (let x = 0; x < fw; x++) {
        const dx = x * sw;
        const dy = y * sh;
        for (let a = 0; a < A; a++) {
          out[o++] = Math.fround(dx + base[4 * a]!);
          out[o++] = Math.fround(dy + base[4 * a + 1]!);
          out[o++] = Math.fround(dx + base[4 * a + 2]!);
          out[o++] = Math.fround(dy + base[4 * a + 3]!);
        }
      }
    }
    return out;
  });
}
