import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { SGD } from '../../src/train/sgd.js';
import { expectClose, trackTensors, variableOf } from '../nn/helpers.js';

trackTensors('file');

function grads(entries: Array<[string, number[]]>): Map<string, tf.Tensor> {
  return new Map(entries.map(([k, v]) => [k, tf.tensor(v)]));
}

describe('SGD (PyTorch semantics)', () => {
  it('matches a hand-computed two-step example with momentum and weight decay', () => {
    // p0 = [1, −2], lr 0.1, μ 0.9, wd 0.01, g1 = [0.5, 0.1], g2 = [−0.2, 0.4]
    // step 1: d = g1 + wd·p0 = [0.51, 0.08]; buf = d; p1 = p0 − 0.1·buf = [0.949, −2.008]
    // step 2: d = g2 + wd·p1 = [−0.19051, 0.37992]; buf = 0.9·[0.51, 0.08] + d = [0.26849, 0.45192];
    //         p2 = p1 − 0.1·buf = [0.922151, −2.053192]
    const p = variableOf([1, -2], [2]);
    const opt = new SGD([['w', p]], { lr: 0.1, momentum: 0.9, weightDecay: 0.01 });
    const g1 = grads([['w', [0.5, 0.1]]]);
    opt.step(g1);
    expectClose(p, [0.949, -2.008], { atol: 1e-6 }, 'p1');
    const g2 = grads([['w', [-0.2, 0.4]]]);
    opt.step(g2);
    expectClose(p, [0.922151, -2.053192], { atol: 1e-6 }, 'p2');
    const st = opt.stateDict();
    expectClose(st.momentumBuffers.get('w')!, [0.26849, 0.45192], { atol: 1e-6 }, 'buf');
    expect(st.steps).toBe(2);
    tf.dispose([...g1.values(), ...g2.values(), p, ...st.momentumBuffers.values()]);
    opt.dispose();
  });

  it('nesterov, dampening, plain SGD', () => {
    const p = variableOf([1, -2], [2]);
    const g = grads([['w', [0.5, 0.1]]]);
    const nesterov = new SGD([['w', p]], { lr: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true });
    nesterov.step(g); // d = [0.51, 0.08], buf = d, d ← d + 0.9·buf = 1.9·d
    expectClose(p, [1 - 0.1 * 1.9 * 0.51, -2 - 0.1 * 1.9 * 0.08], { atol: 1e-6 });
    nesterov.dispose();
    const q = variableOf([1, 1], [2]);
    const damp = new SGD([['w', q]], { lr: 1, momentum: 0.5, dampening: 0.5 });
    const gq = grads([['w', [1, 2]]]);
    damp.step(gq); // first step: buf = d (no dampening on creation, as PyTorch)
    expectClose(q, [0, -1], { atol: 1e-7 });
    damp.step(gq); // buf = 0.5·[1, 2] + 0.5·[1, 2] = [1, 2]
    expectClose(q, [-1, -3], { atol: 1e-7 });
    damp.dispose();
    const r = variableOf([3], [1]);
    const plain = new SGD([['w', r]], { lr: 0.5 });
    const gr = grads([['w', [2]]]);
    plain.step(gr);
    expectClose(r, [2], { atol: 0 });
    plain.dispose();
    expect(() => new SGD([], { lr: 0.1, nesterov: true })).toThrow(/nesterov/);
    tf.dispose([p, q, r, ...g.values(), ...gq.values(), ...gr.values()]);
  });

  it('accepts tf.variableGrads output, skips parameters without gradients', () => {
    const a = variableOf([1, 2], [2]);
    const b = variableOf([5], [1]);
    const opt = new SGD([['a', a], ['b', b]], { lr: 0.1, momentum: 0.9, weightDecay: 0.1 });
    const { value, grads: g } = tf.variableGrads(() => tf.sum(tf.square(a)) as tf.Scalar, [a]);
    opt.step(g); // d = 2a + 0.1a = [2.1, 4.2]; b untouched (no gradient, no decay)
    expectClose(a, [1 - 0.21, 2 - 0.42], { atol: 1e-6 });
    expectClose(b, [5], { atol: 0 });
    const st = opt.stateDict();
    expect([...st.momentumBuffers.keys()]).toEqual(['a']);
    tf.dispose([value, g, a, b, ...st.momentumBuffers.values()]);
    opt.dispose();
  });

  it('state export/import resumes exactly; errors name the parameter', () => {
    const run = (steps: number, resumeAt?: number): number[] => {
      const p = variableOf([0.5, -1, 2], [3]);
      let opt = new SGD([['p', p]], { lr: 0.05, momentum: 0.9, weightDecay: 1e-4 });
      for (let i = 0; i < steps; i++) {
        if (i === resumeAt) {
          const st = opt.stateDict();
          opt.dispose();
          opt = new SGD([['p', p]], { lr: 0.05, momentum: 0.9, weightDecay: 1e-4 });
          opt.loadStateDict(st);
          tf.dispose([...st.momentumBuffers.values()]);
        }
        const { value, grads: g } = tf.variableGrads(() => tf.sum(tf.mul(tf.square(p), tf.tensor([1, 2, 3]))) as tf.Scalar, [p]);
        opt.step(g);
        tf.dispose([value, g]);
      }
      const out = Array.from(p.dataSync());
      p.dispose();
      opt.dispose();
      return out;
    };
    expect(run(4, 2)).toEqual(run(4));
    const p = variableOf([1, 2], [2]);
    const opt = new SGD([['p', p]], { lr: 0.1, momentum: 0.9 });
    const bad = tf.zeros([3]);
    expect(() =>
      opt.loadStateDict({ lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false, steps: 1, momentumBuffers: new Map([['p', bad], ['q', bad]]) }),
    ).toThrow(/"p" has shape \[3\], parameter \[2\]; momentum buffer for unknown parameter "q"/);
    const g = grads([['p', [1, 2, 3]]]);
    expect(() => opt.step(g)).toThrow(/gradient for "p" has shape \[3\]/);
    opt.dispose();
    expect(() => opt.step(g)).toThrow(/disposed/);
    tf.dispose([p, bad, ...g.values()]);
  });
});
