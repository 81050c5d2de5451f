/**
 * Generates src/engine/kernels/wasm/batchnorm.wat: the per-channel passes of a training-mode BatchNorm over a
 * channel-last tensor [P, C] (P = N·H·W pixels, C = 4·G channels), 4 channels per f32x4 vector, on the TF.js wasm
 * backend's own memory (simd-batchnorm.ts). Every pointer is a byte address; vectors of per-channel values are
 * [C] float arrays.
 *
 *   reductions (out[c] = Σ_p term):
 *     bn_sum       (x, P, G, out, blk)               Σ x
 *     bn_sq_dev    (x, P, G, mean, out, blk)         Σ (x − mean)²
 *     bn_grad_sums (dy, x, P, G, mean, s1, s2, blk)  s1 = Σ dy, s2 = Σ dy·(x − mean)
 *   maps (one output row per input row):
 *     bn_affine    (x, P, G, mean, a, b, y)          y = a·(x − mean) + b
 *     bn_affine2   (dy, x, P, G, mean, a, b, c, dx)  dx = a·dy + b·(x − mean) + c
 *
 * Sums run in blocks of BLOCK rows: each block is summed on its own into `blk` (C floats per sum, scratch), then
 * added to the total, which keeps the float32 rounding error of a long sum near that of a pairwise one.
 * The code is generated so that the loop skeleton is written once; `npm run build:wasm` writes and assembles it.
 */

import { indent } from './wat-text.js';

/** Rows summed on their own before joining the total. */
export const BLOCK = 64;

const get = (name: string) => `(local.get $${name})`;
const at = (base: string) => `(i32.add ${get(base)} ${get('o')})`;
const load = (base: string) => `(v128.load ${at(base)})`;
const bump = (name: string, by: string) => `(local.set $${name} (i32.add ${get(name)} ${by}))`;

/** `dst[o] = value(o)` for o over the G groups (bytes 0 … 16·G). */
function groupLoop(label: string, body: readonly string[]): string[] {
  return [
    `(local.set $o (i32.const 0))`,
    `(loop $${label}`,
    ...body.map((l) => `  ${l}`),
    `  ${bump('o', '(i32.const 16)')}`,
    `  (br_if $${label} (i32.lt_u ${get('o')} ${get('bytes')})))`,
  ];
}

const HEADER_LOCALS = '(local $o i32) (local $bytes i32) (local $p i32)';

/** A reduction: for every sum k, out_k[c] = Σ_p term_k(p, c); `terms` are f32x4 expressions of the row pointers. */
function reduction(name: string, params: readonly string[], rowPtrs: readonly string[], outs: readonly string[], terms: readonly string[], extraLocals = ''): string {
  const blk = (k: number) => get(`b${k}`);
  const blkLocals = outs.map((_, k) => `(local $b${k} i32)`).join(' ');
  const blkBases = outs.map((_, k) => `(local.set $b${k} (i32.add ${get('blk')} (i32.mul ${get('bytes')} (i32.const ${k}))))`);
  const zeroTotals = outs.map((out) => `(v128.store ${at(out)} (v128.const i32x4 0 0 0 0))`);
  const zeroBlocks = outs.map((_, k) => `(v128.store (i32.add ${blk(k)} ${get('o')}) (v128.const i32x4 0 0 0 0))`);
  const accumulate = terms.map(
    (term, k) => `(v128.store (i32.add ${blk(k)} ${get('o')}) (f32x4.add (v128.load (i32.add ${blk(k)} ${get('o')})) ${term}))`,
  );
  const addBlocks = outs.map((out, k) => `(v128.store ${at(out)} (f32x4.add ${load(out)} (v128.load (i32.add ${blk(k)} ${get('o')}))))`);
  const rowBody = [...groupLoop('groups', accumulate), ...rowPtrs.map((r) => bump(r, get('bytes')))];
  return `
  (func (export "${name}")
    ${params.map((p) => `(param $${p} i32)`).join(' ')}
    ${HEADER_LOCALS} (local $end i32) ${blkLocals}${extraLocals}
    (local.set $bytes (i32.shl ${get('G')} (i32.const 4)))
    (br_if 0 (i32.eqz ${get('G')}))
${indent(blkBases, 4)}
${indent(groupLoop('zero', zeroTotals), 4)}
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_u ${get('p')} ${get('P')}))
        (local.set $end (i32.add ${get('p')} (i32.const ${BLOCK})))
        (if (i32.gt_u ${get('end')} ${get('P')}) (then (local.set $end ${get('P')})))
${indent(groupLoop('clear', zeroBlocks), 8)}
        (loop $rows
${indent(rowBody, 10)}
          ${bump('p', '(i32.const 1)')}
          (br_if $rows (i32.lt_u ${get('p')} ${get('end')})))
${indent(groupLoop('join', addBlocks), 8)}
        (br $blocks))))`;
}

/** A map: out row = f(input rows), one row per pixel. */
function map(name: string, params: readonly string[], rowPtrs: readonly string[], out: string, value: string): string {
  const rowBody = [...groupLoop('groups', [`(v128.store ${at(out)} ${value})`]), ...[...rowPtrs, out].map((r) => bump(r, get('bytes')))];
  return `
  (func (export "${name}")
    ${params.map((p) => `(param $${p} i32)`).join(' ')}
    ${HEADER_LOCALS}
    (local.set $bytes (i32.shl ${get('G')} (i32.const 4)))
    (br_if 0 (i32.or (i32.eqz ${get('G')}) (i32.eqz ${get('P')})))
    (loop $rows
${indent(rowBody, 6)}
      ${bump('p', '(i32.const 1)')}
      (br_if $rows (i32.lt_u ${get('p')} ${get('P')}))))`;
}

export function batchnormWat(): string {
  const dev = `(f32x4.sub ${load('x')} ${load('mean')})`;
  const fns = [
    reduction('bn_sum', ['x', 'P', 'G', 'out', 'blk'], ['x'], ['out'], [load('x')]),
    reduction('bn_sq_dev', ['x', 'P', 'G', 'mean', 'out', 'blk'], ['x'], ['out'], [`(f32x4.mul (local.tee $d ${dev}) ${get('d')})`], ' (local $d v128)'),
    reduction('bn_grad_sums', ['dy', 'x', 'P', 'G', 'mean', 's1', 's2', 'blk'], ['dy', 'x'], ['s1', 's2'], [load('dy'), `(f32x4.mul ${load('dy')} ${dev})`]),
    map('bn_affine', ['x', 'P', 'G', 'mean', 'a', 'b', 'y'], ['x'], 'y', `(f32x4.add (f32x4.mul ${load('a')} ${dev}) ${load('b')})`),
    map(
      'bn_affine2',
      ['dy', 'x', 'P', 'G', 'mean', 'a', 'b', 'c', 'dx'],
      ['dy', 'x'],
      'dx',
      `(f32x4.add (f32x4.add (f32x4.mul ${load('a')} ${load('dy')}) (f32x4.mul ${load('b')} ${dev})) ${load('c')})`,
    ),
  ];
  return `;; Generated by \`npm run build:wasm\` from tools/wasm/batchnorm-wat.ts. Do not edit.
;; Training-mode BatchNorm passes over channel-last [P, 4·G] tensors on the TF.js wasm backend's memory
;; (simd-batchnorm.ts); pointers are byte addresses. Sums run in blocks of ${BLOCK} rows (scratch blk: C floats per sum).
(module
  (import "env" "memory" (memory MEMORY_LIMITS))
${fns.join('\n')}
)
`;
}
