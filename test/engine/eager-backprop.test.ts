/**
 * The memory-releasing backward pass (src/engine/eager-backprop.ts), installed by initEngine as
 * `tf.engine().gradients`:
 *  - gradients are bit-identical to TF.js's own backward pass (same tape, order, gradient functions);
 *  - the saved activations and used-up gradients are freed during the pass: live bytes when the last node is
 *    differentiated are a fraction of TF.js's;
 *  - higher-order gradients, allowNoGradients, and the "no gradient function" error behave as before; no leaks.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../src/engine/index.js';
import { customOp } from '../../src/nn/custom-op.js';

type Gradients = (f: () => tf.Tensor, xs: tf.Tensor[], dy?: tf.Tensor, allow?: boolean) => { value: tf.Tensor; grads: tf.Tensor[] };

const engine = () => tf.engine() as unknown as { gradients: Gradients };
/** Ours (bound: `gradients` reads the engine's state through `this`). */
const ours: Gradients = (...args) => engine().gradients(...args);
/** TF.js's own implementation (on the Engine prototype; ours is installed on the instance). */
const stock = (): Gradients => {
  const e = tf.engine();
  const proto = Object.getPrototypeOf(e) as { gradients: Gradients };
  return (...args) => proto.gradients.apply(e, args);
};

let liveAtLastNode = 0;
/** Identity whose gradient records the live bytes when it runs (it is the last node of the backward pass). */
const probe = customOp<tf.Tensor>(([x]) => ({
  value: tf.clone(x!),
  gradFunc: (dy) => {
    liveAtLastNode = tf.memory().numBytes;
    return [tf.clone(dy)];
  },
}));

function chain(x: tf.Tensor, w: tf.Variable): tf.Scalar {
  let h = probe(tf.mul(x, w)); // on the path from w: its gradient runs second to last
  for (let i = 0; i < 12; i++) h = tf.tanh(tf.add(tf.mul(h, w), 0.1 * i));
  return tf.sum(tf.square(h)) as tf.Scalar;
}

describe('eager backprop', () => {
  beforeAll(async () => {
    await initEngine({ backend: 'wasm' });
  });

  it('is installed and gives the same gradients as TF.js, bit for bit', () => {
    expect((tf.engine() as unknown as { tiedetEagerBackprop?: boolean }).tiedetEagerBackprop).toBe(true);
    const x = tf.randomNormal([64, 256], 0, 1, 'float32', 1);
    const w = tf.variable(tf.randomNormal([256], 1, 0.1, 'float32', 2));
    const mine = ours(() => chain(x, w), [x, w]);
    const theirs = stock()(() => chain(x, w), [x, w]);
    expect(mine.value.dataSync()[0]).toBe(theirs.value.dataSync()[0]);
    mine.grads.forEach((g, i) => expect(Array.from(g.dataSync())).toEqual(Array.from(theirs.grads[i]!.dataSync())));
    tf.dispose([x, w, mine.value, theirs.value, ...mine.grads, ...theirs.grads]);
  });

  it('frees saved activations and used-up gradients during the pass', () => {
    const x = tf.randomNormal([512, 512], 0, 1, 'float32', 3);
    const w = tf.variable(tf.ones([512]));
    const base = tf.memory().numBytes;
    const run = (g: Gradients) => {
      const r = g(() => chain(x, w), [w]);
      tf.dispose([r.value, ...r.grads]);
      return liveAtLastNode - base;
    };
    const theirs = run(stock());
    const eager = run(ours);
    const mb = 512 * 512 * 4;
    // TF.js still holds ~3 saved tensors and a gradient per op of the chain (> 30 maps); ours a handful.
    expect(theirs).toBeGreaterThan(30 * mb);
    expect(eager).toBeLessThan(8 * mb);
    tf.dispose([x, w]);
  });

  it('higher-order gradients, allowNoGradients, errors; flat tensor count', () => {
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const d2 = tf.grad(tf.grad((x: tf.Tensor) => tf.pow(x, 3)));
      const x = tf.tensor1d([1, 2, -3]);
      const v = d2(x);
      expect(Array.from(v.dataSync())).toEqual([6, 12, -18]);
      tf.dispose([x, v]);
      const a = tf.scalar(2);
      const b = tf.scalar(5);
      const r = ours(() => tf.mul(a, a), [a, b], undefined, true);
      expect(r.grads[0]!.dataSync()[0]).toBe(4);
      expect(r.grads[1]).toBeUndefined();
      tf.dispose([a, b, r.value, r.grads[0]!]);
    }
    expect(tf.memory().numTensors).toBe(before);
    const v = tf.variable(tf.tensor1d([1, 2]));
    expect(() => tf.variableGrads(() => tf.sum(tf.topk(v, 1).values) as tf.Scalar)).toThrow(/gradient function not found for TopK/);
    expect(() => ours(() => tf.scalar(1), [v])).toThrow(/Cannot compute gradient of y=f\(x\)/);
    v.dispose();
  });
});
