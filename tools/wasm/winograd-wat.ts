/**
 * Generates src/engine/kernels/wasm/winograd.wat: the two data transforms of a Winograd F(4×4, 3×3) convolution
 * (Lavin & Gray 2016) as unrolled wasm SIMD, 4 channels per vector. The matrices are the standard ones with
 * interpolation points 0, ±1, ±2, ∞; winograd-conv.ts does the weight transform and the 36 per-plane products.
 *
 *   input  (wino_input):  V_k = (Bᵀ d B)_k for every 6×6 input tile d (stride 4) and channel → plane k (36 planes,
 *                          each [tiles, C])
 *   output (wino_output): y = Aᵀ M A + bias (then max(·, lo): lo = 0 for ReLU, −∞ for none) for every tile and
 *                          output channel, from the 36 product planes M_k [tiles, Cout] → [N, 4·tY, 4·tX, Cout]
 *   output gradient (wino_output_grad): dM_k = (A dy Aᵀ)_k for every 4×4 tile of dy [N, 4·tY, 4·tX, Cout] and
 *                          channel → plane k (36 planes, each [tiles, Cout]): the adjoint of the output transform,
 *                          for the filter gradient by Winograd (winograd-filter-grad.ts)
 *
 * The code is generated (72 loads, the two 1-D transforms, 36 stores per 4 channels of a tile) so that it is
 * written once as the matrices (src/engine/kernels/winograd-matrices.ts) rather than by hand; `npm run build:wasm` writes the .wat and assembles it.
 */

import { WINOGRAD_AT, WINOGRAD_BT } from '../../src/engine/kernels/winograd-matrices.js';
import { indent } from './wat-text.js';

const splat = (c: number) => `(v128.const f32x4 ${c} ${c} ${c} ${c})`;

/** Σ_i coef[i]·vars[i] as one f32x4 expression (zero terms skipped, ±1 without a multiply). */
function linear(coefs: readonly number[], vars: readonly string[]): string {
  let expr = '';
  coefs.forEach((c, i) => {
    if (c === 0) return;
    const v = `(local.get ${vars[i]})`;
    const mag = Math.abs(c);
    const term = mag === 1 ? v : `(f32x4.mul ${v} ${splat(mag)})`;
    if (expr === '') expr = c > 0 ? term : `(f32x4.neg ${term})`;
    else expr = `(${c > 0 ? 'f32x4.add' : 'f32x4.sub'} ${expr} ${term})`;
  });
  return expr === '' ? splat(0) : expr;
}

/** Two-sided transform: out[i][j] = Σ_r Σ_c L[i][r] in[r][c] R[j][c], via tmp[i][c] (rows first). */
function twoSided(L: readonly (readonly number[])[], R: readonly (readonly number[])[], inName: string, tmpName: string, outName: string): string[] {
  const rows = L.length;
  const cols = R[0]!.length;
  const inner = L[0]!.length;
  const lines: string[] = [];
  for (let i = 0; i < rows; i++) {
    for (let c = 0; c < cols; c++) {
      const vars = Array.from({ length: inner }, (_, r) => `$${inName}${r}_${c}`);
      lines.push(`(local.set $${tmpName}${i}_${c} ${linear(L[i]!, vars)})`);
    }
  }
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < R.length; j++) {
      const vars = Array.from({ length: cols }, (_, c) => `$${tmpName}${i}_${c}`);
      lines.push(`(local.set $${outName}${i}_${j} ${linear(R[j]!, vars)})`);
    }
  }
  return lines;
}

function locals(prefix: string, rows: number, cols: number, type: string): string {
  const out: string[] = [];
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out.push(`(local $${prefix}${i}_${j} ${type})`);
  return out.join(' ');
}

/** `(local.set $off{r}_{c} (r·rowB + c·colB))` for an r × c window: byte offsets from the window's top-left. */
function windowOffsets(rows: number, cols: number): string[] {
  const out: string[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      out.push(`(local.set $off${r}_${c} (i32.add (i32.mul (i32.const ${r}) (local.get $rowB)) (i32.mul (i32.const ${c}) (local.get $colB))))`);
    }
  }
  return out;
}

/**
 * The loops over images n, tile rows ty, tile columns tx and 4-channel groups g shared by both transforms: $base is
 * the byte address of channel 4g at pixel (n, 4·ty, 4·tx) of the [N, $rows, $cols, C] tensor at $ptr; `body` runs
 * per group; $o (the plane offset) advances by 16 bytes per group, tiles in (n, ty, tx) order.
 */
function tileLoops(ptr: string, rows: string, cols: string, body: string[]): string {
  return `    (local.set $o (i32.const 0))
    (block $done
      (br_if $done (i32.or (i32.eqz (local.get $N)) (i32.or (i32.eqz (local.get $tY)) (i32.or (i32.eqz (local.get $tX)) (i32.eqz (local.get $G))))))
      (local.set $n (i32.const 0))
      (loop $images
        (local.set $ty (i32.const 0))
        (loop $rows
          (local.set $tx (i32.const 0))
          (loop $cols
            (local.set $tileBase (i32.add (local.get ${ptr})
              (i32.mul (local.get $colB)
                (i32.add (i32.mul (i32.add (i32.mul (local.get $n) (local.get ${rows})) (i32.shl (local.get $ty) (i32.const 2))) (local.get ${cols}))
                  (i32.shl (local.get $tx) (i32.const 2))))))
            (local.set $g (i32.const 0))
            (loop $groups
              (local.set $base (i32.add (local.get $tileBase) (i32.shl (local.get $g) (i32.const 4))))
${indent(body, 14)}
              (local.set $o (i32.add (local.get $o) (i32.const 16)))
              (local.set $g (i32.add (local.get $g) (i32.const 1)))
              (br_if $groups (i32.lt_u (local.get $g) (local.get $G))))
            (local.set $tx (i32.add (local.get $tx) (i32.const 1)))
            (br_if $cols (i32.lt_u (local.get $tx) (local.get $tX))))
          (local.set $ty (i32.add (local.get $ty) (i32.const 1)))
          (br_if $rows (i32.lt_u (local.get $ty) (local.get $tY))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br_if $images (i32.lt_u (local.get $n) (local.get $N))))))`;
}

/**
 * Signature and locals of a "tensor → 36 planes" transform (wino_input, wino_output_grad): params (src, N, tY, tX,
 * C, table), the loop and address locals plus `sizeLocals`, the plane addresses $p*, the win×win window offsets,
 * loaded values $d (win×win), the half-transformed $t (tRows×tCols) and the planes' values $v (6×6); then $G.
 */
function toPlanesHeader(name: string, win: number, tRows: number, tCols: number, sizeLocals: string): string {
  return `  (func (export "${name}")
    (param $src i32) (param $N i32) (param $tY i32) (param $tX i32) (param $C i32) (param $table i32)
    (local $n i32) (local $ty i32) (local $tx i32) (local $g i32) (local $G i32) (local $rowB i32) (local $colB i32)
    (local $base i32) (local $tileBase i32) (local $o i32) ${sizeLocals}
    ${Array.from({ length: 36 }, (_, k) => `(local $p${k} i32)`).join(' ')}
    ${locals('off', win, win, 'i32')}
    ${locals('d', win, win, 'v128')}
    ${locals('t', tRows, tCols, 'v128')}
    ${locals('v', 6, 6, 'v128')}
    (local.set $G (i32.shr_u (local.get $C) (i32.const 2)))`;
}

export function winogradWat(): string {
  const a = 6;
  const m = 4;
  // ---- input transform ----
  const inOffsets = windowOffsets(a, a);
  const planeBases: string[] = [];
  for (let k = 0; k < a * a; k++) planeBases.push(`(local.set $p${k} (i32.load offset=${4 * k} (local.get $table)))`);
  const loads: string[] = [];
  for (let r = 0; r < a; r++) for (let c = 0; c < a; c++) loads.push(`(local.set $d${r}_${c} (v128.load (i32.add (local.get $base) (local.get $off${r}_${c}))))`);
  const stores: string[] = [];
  for (let i = 0; i < a; i++) for (let j = 0; j < a; j++) stores.push(`(v128.store (i32.add (local.get $p${i * a + j}) (local.get $o)) (local.get $v${i}_${j}))`);
  const inputFn = `
  ;; src: padded input [N, 4·tY + 2, 4·tX + 2, C] (byte address); table: 36 plane addresses (i32), plane k =
  ;; [N·tY·tX, C]; C a multiple of 4.
${toPlanesHeader('wino_input', a, a, a, '(local $Wp i32) (local $Hp i32)')}
    (local.set $Wp (i32.add (i32.shl (local.get $tX) (i32.const 2)) (i32.const 2)))
    (local.set $Hp (i32.add (i32.shl (local.get $tY) (i32.const 2)) (i32.const 2)))
    (local.set $colB (i32.shl (local.get $C) (i32.const 2)))
    (local.set $rowB (i32.mul (local.get $Wp) (local.get $colB)))
${indent(inOffsets, 4)}
${indent(planeBases, 4)}
${tileLoops('$src', '$Hp', '$Wp', [...loads, ...twoSided(WINOGRAD_BT, WINOGRAD_BT, 'd', 't', 'v'), ...stores])}`;

  // ---- output transform ----
  const outOffsets = windowOffsets(m, m);
  const mLoads: string[] = [];
  for (let i = 0; i < a; i++) for (let j = 0; j < a; j++) mLoads.push(`(local.set $m${i}_${j} (v128.load (i32.add (local.get $p${i * a + j}) (local.get $o))))`);
  const yStores: string[] = [];
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) {
      yStores.push(
        `(v128.store (i32.add (local.get $base) (local.get $off${i}_${j})) (f32x4.max (f32x4.add (local.get $y${i}_${j}) (local.get $b)) (local.get $lo)))`,
      );
    }
  }
  const outputFn = `
  ;; table: 36 plane addresses (plane k = [N·tY·tX, Cout]); dst [N, 4·tY, 4·tX, Cout]; bias [Cout]; relu ≠ 0 clamps
  ;; at 0. Cout a multiple of 4.
  (func (export "wino_output")
    (param $table i32) (param $dst i32) (param $N i32) (param $tY i32) (param $tX i32) (param $C i32)
    (param $bias i32) (param $relu i32)
    (local $n i32) (local $ty i32) (local $tx i32) (local $g i32) (local $G i32) (local $rowB i32) (local $colB i32)
    (local $base i32) (local $tileBase i32) (local $o i32) (local $Wo i32) (local $Ho i32) (local $b v128) (local $lo v128)
    ${Array.from({ length: a * a }, (_, k) => `(local $p${k} i32)`).join(' ')}
    ${locals('off', m, m, 'i32')}
    ${locals('m', a, a, 'v128')}
    ${locals('t', m, a, 'v128')}
    ${locals('y', m, m, 'v128')}
    (local.set $G (i32.shr_u (local.get $C) (i32.const 2)))
    (local.set $Wo (i32.shl (local.get $tX) (i32.const 2)))
    (local.set $Ho (i32.shl (local.get $tY) (i32.const 2)))
    (local.set $colB (i32.shl (local.get $C) (i32.const 2)))
    (local.set $rowB (i32.mul (local.get $Wo) (local.get $colB)))
    (local.set $lo (select (result v128) ${splat(0)} ${splat(-Infinity).replace(/-Infinity/g, '-inf')} (local.get $relu)))
${indent(outOffsets, 4)}
${indent(planeBases, 4)}
${tileLoops('$dst', '$Ho', '$Wo', [
    '(local.set $b (v128.load (i32.add (local.get $bias) (i32.shl (local.get $g) (i32.const 4)))))',
    ...mLoads,
    ...twoSided(WINOGRAD_AT, WINOGRAD_AT, 'm', 't', 'y'),
    ...yStores,
  ])}`;

  // ---- output gradient: the adjoint of the output transform, dM = A dy Aᵀ per 4×4 tile ----
  const A = WINOGRAD_AT[0]!.map((_, i) => WINOGRAD_AT.map((row) => row[i]!)); // 6×4
  const dyLoads: string[] = [];
  for (let r = 0; r < m; r++) for (let c = 0; c < m; c++) dyLoads.push(`(local.set $d${r}_${c} (v128.load (i32.add (local.get $base) (local.get $off${r}_${c}))))`);
  const gradFn = `
  ;; src: dy [N, 4·tY, 4·tX, Cout] (byte address, zero beyond the conv's output); table: 36 plane addresses (i32),
  ;; plane k = [N·tY·tX, Cout]; Cout a multiple of 4.
${toPlanesHeader('wino_output_grad', m, a, m, '(local $Wo i32) (local $Ho i32)')}
    (local.set $Wo (i32.shl (local.get $tX) (i32.const 2)))
    (local.set $Ho (i32.shl (local.get $tY) (i32.const 2)))
    (local.set $colB (i32.shl (local.get $C) (i32.const 2)))
    (local.set $rowB (i32.mul (local.get $Wo) (local.get $colB)))
${indent(outOffsets, 4)}
${indent(planeBases, 4)}
${tileLoops('$src', '$Ho', '$Wo', [...dyLoads, ...twoSided(A, A, 'd', 't', 'v'), ...stores])}`;

  return (
    ';; GENERATED by tools/wasm/winograd-wat.ts (`npm run build:wasm`) — edit the generator, not this file.\n' +
    ';; Winograd F(4×4, 3×3) data transforms for src/engine/kernels/winograd-conv.ts, on the TF.js wasm heap.\n' +
    '(module\n' +
    '  (import "env" "memory" (memory MEMORY_LIMITS))' +
    inputFn +
    outputFn +
    gradFn +
    '\n)\n'
  );
}
