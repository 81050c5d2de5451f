/**
 * `npx tsx tools/bench/profile-forward.ts [--presets tiedResNet50] [--input 400x667] [--threads N]` — per-kernel
 * time of one eval-mode backbone forward (C2–C5) from `tf.profile`: where the forward time goes.
 */
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index.js';
import { loadPresets, parseInput, selectPresets } from '../backbone-presets.js';
import { argValue } from './harness.js';
import { profileKernels } from './kernel-profile.js';

const info = await initEngine({ threads: Number(argValue('threads') ?? availableParallelism()) });
const [h, w] = parseInput(argValue('input') ?? '400x667');
const presetsModule = await loadPresets();
for (const entry of selectPresets(argValue('presets') ?? 'tiedResNet50')) {
  const model = entry.pick(presetsModule)({ seed: 1, numClasses: null, frozenStages: -1, normEval: false });
  model.eval();
  const x = tf.randomUniform([1, h, w, 3], -1, 1, 'float32', 1) as tf.Tensor4D;
  const run = async () => {
    const f = model.forward(x);
    await f.c5.data();
    tf.dispose([f.c2, f.c3, f.c4, f.c5]);
  };
  await run();
  const p = await profileKernels(run);
  process.stdout.write(
    `${entry.name} ${h}x${w} ${info.backend} ×${info.threads}: forward ${p.wallMs.toFixed(0)} ms wall (profiled), ` +
      `kernels ${p.kernelMs.toFixed(0)} ms\n${p.table}\n`,
  );
  tf.dispose(x);
}
process.exit(0);
