/**
 * `npx tsx tools/bench/profile-forward.ts [--presets tiedResNet50] [--input 400x667] [--threads N]` — per-kernel
 * time of one eval-mode backbone forward (C2–C5) from `tf.profile`: where the forward time goes.
 */
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index.js';
import { loadPresets, parseInput, selectPresets } from '../params.js';
import { argValue, table } from './harness.js';

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
  const t0 = performance.now();
  const prof = await tf.profile(run);
  const wall = performance.now() - t0;
  const agg = new Map<string, { ms: number; calls: number }>();
  for (const k of prof.kernels) {
    const a = agg.get(k.name) ?? { ms: 0, calls: 0 };
    a.ms += k.kernelTimeMs as number;
    a.calls += 1;
    agg.set(k.name, a);
  }
  const rows = [...agg].sort((a, b) => b[1].ms - a[1].ms);
  const total = rows.reduce((s, [, a]) => s + a.ms, 0);
  process.stdout.write(
    `${entry.name} ${h}x${w} ${info.backend} ×${info.threads}: forward ${wall.toFixed(0)} ms wall (profiled), kernels ${total.toFixed(0)} ms\n` +
      `${table(['kernel', 'ms', 'calls', 'share'], rows.map(([n, a]) => [n, a.ms, a.calls, `${((100 * a.ms) / total).toFixed(1)} %`]))}\n`,
  );
  tf.dispose(x);
}
process.exit(0);
