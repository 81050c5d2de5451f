/**
 * RetinaNet, the public entry: `retinaNet({ backbone, config })` builds the detector (see retinanet.ts); the config
 * helpers, head and post-processing pieces are re-exported for configs, tools and benchmarks.
 *
 * ```ts
 * import { tiedResNet50 } from '../../src/backbones/presets.js';
 * import { retinaNet } from './index.js';
 * const model = retinaNet({ backbone: tiedResNet50({ numClasses: null }), config: { numClasses: 80 } });
 * ```
 */
import { RetinaNet, type RetinaNetOptions } from './retinanet.js';

export { RetinaNet, type RetinaNetOptions } from './retinanet.js';
export { defaultRetinaNetConfig, retinaNetConfig, type RetinaNetConfig } from './config.js';
export { RetinaHead, type RetinaHeadOutput } from './head.js';
export { featureSizes, flattenLevels } from '../dense-head.js';
export { postProcessImage, topKAboveThreshold } from './postprocess.js';
export { anchorTargets, type AnchorTargets } from './targets.js';

/** Build a RetinaNet (mmdetection's defaults, overridden by `config`). */
export function retinaNet(options: RetinaNetOptions): RetinaNet {
  return new RetinaNet(options);
}
