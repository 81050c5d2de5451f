/**
 * SIMD versions of the TiedBottleneck's heap passes (the inference path's fused ones, and the training path's exact
 * block permutations) (src/engine/kernels/wasm/plumbing.wat). The
 * path moves every split's channels into and out of the block-major batch layout a TBC convolves; in JavaScript
 * those passes cost as much as the convolutions around them (no SIMD, bounds checks, a table load per float).
 *
 * `simdPlumbing()` returns the exports for the active wasm backend, or null when there is none or after
 * `setSimdPlumbing(false)`; callers then use their JavaScript loops (tensor-plumbing.ts).
 */
import { heapWasm } from './heap-wasm.js';
import { PLUMBING_WASM_PLAIN, PLUMBING_WASM_SHARED } from './wasm-binaries.js';

export interface SimdPlumbing {
  /** (src, P, G, sc, sh, table): see plumbing.wat. Byte addresses; G groups of 4 channels. */
  split_blocks(src: number, P: number, G: number, sc: number, sh: number, table: number): void;
  gather_blocks(dst: number, P: number, G: number, sc: number, sh: number, table: number, sum: number, s: number, ws4: number): void;
  add_every_split(y: number, m: number, out: number, P: number, s: number, ws4: number): void;
  /** (src, P, G, table): the exact permutation channels → block-major parts (the training path's; no BN, no ReLU). */
  move_blocks(src: number, P: number, G: number, table: number): void;
  /** (dst, P, G, table): its inverse, block-major parts → channels. */
  collect_blocks(dst: number, P: number, G: number, table: number): void;
}

const BINARY = { shared: PLUMBING_WASM_SHARED, plain: PLUMBING_WASM_PLAIN };
let enabled = true;

/** Turn the SIMD passes off (true → on again): for A/B benchmarks and the tests that compare both paths. */
export function setSimdPlumbing(on: boolean): void {
  enabled = on;
}

export function simdPlumbing(): SimdPlumbing | null {
  return enabled ? heapWasm<SimdPlumbing>(BINARY) : null;
}
