/**
 * Locates the third-party COCO data in `../shared/coco` (beside the repository root; see its SOURCES.md).
 * When the folder is missing the suites that need it are skipped with the reason — except under CI
 * (`process.env.CI` set), where a missing folder is a failure.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { describe, it } from 'vitest';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const SHARED_COCO = resolve(REPO_ROOT, '../shared/coco');
export const HAVE_SHARED_COCO = existsSync(resolve(SHARED_COCO, 'SOURCES.md'));
export const MISSING_REASON = `COCO reference data not found at ${SHARED_COCO} (expected ../shared/coco beside the repository root)`;

/** `describe` that runs when ../shared/coco exists, skips (with the reason) otherwise, and fails under CI. */
export function describeShared(name: string, body: () => void): void {
  if (HAVE_SHARED_COCO) {
    describe(name, body);
  } else if (process.env.CI) {
    describe(name, () => {
      it('needs ../shared/coco', () => {
        throw new Error(`${MISSING_REASON}; CI must provide it`);
      });
    });
  } else {
    describe(name, () => {
      it.skip(`skipped: ${MISSING_REASON}`, () => {});
    });
  }
}

export function sharedPath(...parts: string[]): string {
  return resolve(SHARED_COCO, ...parts);
}

export function readSharedJson<T = unknown>(...parts: string[]): T {
  const p = sharedPath(...parts);
  const buf = readFileSync(p);
  return JSON.parse((p.endsWith('.gz') ? gunzipSync(buf) : buf).toString('utf8')) as T;
}

/** The five GT/results pairs of ../shared/coco. */
export const PAIRS = {
  val2014_100: {
    gt: 'val2014_100/instances_val2014_100.json',
    results: ['val2014_100/instances_val2014_fakebbox100_results.json', 'val2014_100/instances_val2014_fakesegm100_results.json'],
  },
  braintumor_maskrcnn: {
    gt: 'braintumor_maskrcnn/valid_annotations.coco.json',
    results: ['braintumor_maskrcnn/coco_instances_results.json'],
  },
  synthwheels_maskrcnn: { gt: 'synthwheels_maskrcnn/val.json', results: ['synthwheels_maskrcnn/coco_instances_results.json'] },
  phonescratch_maskrcnn: {
    gt: 'phonescratch_maskrcnn/testing_ann.json',
    results: ['phonescratch_maskrcnn/coco_instances_results.json'],
  },
  fce_small: { gt: 'fce_small/gt_dataset.json', results: ['fce_small/dt_dataset.json'] },
} as const;
