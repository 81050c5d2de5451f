import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index.js';
import { resnet50, tiedResNet50 } from '../../src/backbones/presets.js';
import { setTiedSplitConvs } from '../../src/backbones/tied-split-convs.js';
import { SGD } from '../../src/train/sgd.js';
await initEngine({ backend: 'wasm', threads: 2 });
const [h, w] = [384, 640];
const mk = (make: typeof resnet50) => {
  const model = make({ seed: 1, numClasses: null, zeroInitResidual: true });
  model.train();
  const sgd = new SGD(model.namedParameters({ trainableOnly: true }), { lr: 0.001, momentum: 0.9, weightDecay: 1e-4 });
  const names = new Map(model.namedParameters().map(([n, v]) => [v.name, n]));
  const x = tf.randomUniform([1, h, w, 3], -1, 1, 'float32', 1) as tf.Tensor4D;
  return async () => {
    const t0 = performance.now();
    const { value, grads } = tf.variableGrads(() => {
      const f = model.forward(x);
      return tf.addN([tf.mean(f.c3), tf.mean(f.c4), tf.mean(f.c5)]) as tf.Scalar;
    }, model.trainableVariables());
    sgd.step(new Map(Object.entries(grads).map(([k, g]) => [names.get(k)!, g])));
    await value.data();
    tf.dispose([value, ...Object.values(grads)]);
    return performance.now() - t0;
  };
};
const r50 = mk(resnet50), tied = mk(tiedResNet50);
await r50(); await tied(); setTiedSplitConvs(false); await tied(); setTiedSplitConvs(true);
for (let i = 0; i < 3; i++) {
  const a = await r50();
  setTiedSplitConvs(false); const b = await tied();
  setTiedSplitConvs(true); const c = await tied();
  console.log(`r50 ${a.toFixed(0)}  tied(general) ${b.toFixed(0)}  tied(op) ${c.toFixed(0)}  ratios ${(b / a).toFixed(2)} → ${(c / a).toFixed(2)}`);
}
process.exit(0);
