/**
 * The torchvision / mmdet reference cases of tools/fixtures/roi_align.py (test/fixtures/ops/roi_align.json + .f32):
 * RoIAlign outputs and input gradients, mmdet level mapping, mask targets and mask pasting.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadF32Fixtures, type F32FixtureCase, type F32Fixtures } from '../nn/helpers.js';

export interface OpsFixtureCase extends F32FixtureCase {
  kind: 'roi_align' | 'levels' | 'mask_target' | 'paste';
  config: Record<string, number | boolean>;
  /** roi_align: batch image of each box. */
  batch?: number[];
  /** mask_target: GT index of each proposal. */
  assigned?: number[];
}

let cached: F32Fixtures<OpsFixtureCase> | undefined;

export function loadOpsFixtures(): F32Fixtures<OpsFixtureCase> {
  cached ??= loadF32Fixtures<OpsFixtureCase>(
    join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'ops', 'roi_align.json'),
  );
  return cached;
}
