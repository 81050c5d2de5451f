/**
 * Loads the JSON references of tools/fixtures/detection_ops.py (test/fixtures/ops/*.json: torchvision box_iou / nms /
 * batched_nms / focal loss, torch.nn.functional losses, and mmdetection's coder, anchor, assigner formulas) and
 * compares typed arrays with a stated tolerance.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

const DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'ops');

/** Parse test/fixtures/ops/<name>. */
export function loadDetectionFixture<T>(name: string): T {
  return JSON.parse(readFileSync(join(DIR, name), 'utf8')) as T;
}

/**
 * Assert |a − e| ≤ atol + rtol·|e| element-wise (NaN only matches NaN; `null` in `expected` — NaN in JSON — too).
 * The message names the label, the first failing index and the max error.
 */
export function expectAllClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number | null>,
  tol: { atol?: number; rtol?: number },
  label: string,
): void {
  expect(actual.length, `${label}: length`).toBe(expected.length);
  const atol = tol.atol ?? 0;
  const rtol = tol.rtol ?? 0;
  let first = -1;
  let maxErr = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i] ?? NaN;
    const ok = Number.isNaN(e) ? Number.isNaN(a) : Math.abs(a - e) <= atol + rtol * Math.abs(e);
    if (!Number.isNaN(e)) maxErr = Math.max(maxErr, Math.abs(a - e));
    if (!ok && first < 0) first = i;
  }
  expect(first, `${label}: first mismatch at ${first}: ${actual[first]} vs ${expected[first]}; max |diff| ${maxErr.toExponential(2)} (atol ${atol}, rtol ${rtol})`).toBe(-1);
}
