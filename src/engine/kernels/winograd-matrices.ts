/**
 * The Winograd F(4×4, 3×3) matrices (Lavin & Gray 2016; interpolation points 0, ±1, ±2, ∞): 1-D output
 * y = Aᵀ[(G g) ⊙ (Bᵀ d)] of a 3-tap correlation g over 6 inputs d; in 2-D, y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A.
 * Used by the kernel generator (tools/wasm/winograd-wat.ts) and the weight transform (winograd-conv.ts).
 */
/** Bᵀ (6×6), G (6×3), Aᵀ (4×6). */
export const WINOGRAD_BT: readonly (readonly number[])[] = [
  [4, 0, -5, 0, 1, 0],
  [0, -4, -4, 1, 1, 0],
  [0, 4, -4, -1, 1, 0],
  [0, -2, -1, 2, 1, 0],
  [0, 2, -1, -2, 1, 0],
  [0, 4, 0, -5, 0, 1],
];
export const WINOGRAD_G: readonly (readonly number[])[] = [
  [1 / 4, 0, 0],
  [-1 / 6, -1 / 6, -1 / 6],
  [-1 / 6, 1 / 6, -1 / 6],
  [1 / 24, 1 / 12, 1 / 6],
  [1 / 24, -1 / 12, 1 / 6],
  [0, 0, 1],
];
export const WINOGRAD_AT: readonly (readonly number[])[] = [
  [1, 1, 1, 1, 1, 0],
  [0, 1, -1, 2, -2, 0],
  [0, 1, 1, 4, 4, 0],
  [0, 1, -1, 8, -8, 1],
];

