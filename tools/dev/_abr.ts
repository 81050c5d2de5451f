import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index.js';
import { resnet50 } from '../../src/backbones/presets.js';
import { RetinaNet } from '../../detectors/retinanet/retinanet.js';
import { setWinograd } from '../../src/engine/kernels/winograd-conv.js';
import { SGD } from '../../src/train/sgd.js';
await initEngine({ backend: 'wasm', threads: 2 });
const [h, w] = [800, 1344];
const model = new RetinaNet({ backbone: resnet50({ seed: 1, numClasses: null, withCp: true, zeroInitResidual: true }), seed: 2 });
model.train();
const sgd = new SGD(model.namedParameters({ trainableOnly: true }), { lr: 0.0001, momentum: 0.9, weightDecay: 1e-4 });
const x = tf.randomUniform([1, h, w, 3], -2, 2, 'float32', 3) as tf.Tensor4D;
const meta = { imageId: 1, file: 'r', originalSize: { width: w, height: h }, resizedSize: { width: w, height: h }, padSize: { width: w, height: h }, scaleFactor: [1, 1], flipped: false } as never;
const s = h / 800;
const boxes = Float32Array.from([100, 120, 400, 500, 600, 200, 900, 420, 1000, 450, 1250, 760, 300, 550, 520, 700].map((v) => v * s));
const batch = { images: x, metas: [meta], targets: [{ boxes, labels: Int32Array.from([0, 5, 17, 56]) }] };
const step = async () => {
  const t0 = performance.now();
  const { value, grads } = tf.variableGrads(() => { const l = model.loss(batch); return tf.addN(Object.entries(l).filter(([k]) => k.includes('loss')).map(([, v]) => v)) as tf.Scalar; }, model.trainableVariables());
  sgd.step(grads); const v = (await value.data())[0]; tf.dispose([value, ...Object.values(grads)]);
  return [performance.now() - t0, v];
};
await step();
for (let i = 0; i < 1; i++) {
  setWinograd(false); const [a, la] = await step();
  setWinograd(true); const [b, lb] = await step();
  console.log(`direct ${a!.toFixed(0)} ms (loss ${la!.toFixed(4)})  winograd ${b!.toFixed(0)} ms (loss ${lb!.toFixed(4)})  ${(a! / b!).toFixed(2)}x`);
}
process.exit(0);
