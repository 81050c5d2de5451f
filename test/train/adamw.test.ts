import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { AdamW } from '../../src/train/adamw.js';
import { SGD } from '../../src/train/sgd.js';
import { expectClose, trackTensors, variableOf } from '../nn/helpers.js';

trackTensors('file');

const grads = (entries: Array<[string, number[]]>) => new Map(entries.map(([k, v]) => [k, tf.tensor(v)]));

describe('AdamW (torch.optim.AdamW semantics)', () => {
  it('matches a hand-computed two-step example (decoupled decay, bias correction)', () => {
    // p0 = [1, −2], lr 0.1, wd 0.01, β (0.9, 0.999), ε 1e-8; g1 = [0.5, 0.1], g2 = [−0.2, 0.4]
    // step 1: p ← 0.999·p0; m = 0.1·g1 = [0.05, 0.01]; v = 0.001·g1² = [2.5e-4, 1e-5]; m̂ = g1, √v̂ = |g1|
    //         p1 = [0.999 − 0.1, −1.998 − 0.1] = [0.899, −2.098] (to ~1e-8: ε)
    // step 2: m = [0.025, 0.049]; v = [2.8975e-4, 1.6999e-4]; bc1 = 0.19, bc2 = 0.001999
    //         p2 = 0.999·p1 − (0.1/0.19)·m/(√(v/bc2) + ε) = [0.863540418, −2.184339636]
    const p = variableOf([1, -2], [2]);
    const opt = new AdamW([['w', p]], { lr: 0.1, weightDecay: 0.01 });
    const g1 = grads([['w', [0.5, 0.1]]]);
    opt.step(g1);
    expectClose(p, [0.899, -2.098], { atol: 1e-6 }, 'p1');
    const g2 = grads([['w', [-0.2, 0.4]]]);
    opt.step(g2);
    expectClose(p, [0.863540418, -2.184339636], { atol: 2e-6 }, 'p2');
    const st = opt.exportState();
    expect(st.type).toBe('AdamW');
    expectClose(st.tensors.get('exp_avg/w')!, [0.025, 0.049], { atol: 1e-7 }, 'exp_avg');
    expectClose(st.tensors.get('exp_avg_sq/w')!, [2.8975e-4, 1.6999e-4], { atol: 1e-9 }, 'exp_avg_sq');
    expect(st.scalars).toMatchObject({ steps: 2, paramSteps: { w: 2 }, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01 });
    tf.dispose([...g1.values(), ...g2.values(), p, ...st.tensors.values()]);
    opt.dispose();
  });

  it('a parameter without a gradient is untouched and keeps its own step count', () => {
    const a = variableOf([1, 1], [2]);
    const b = variableOf([3], [1]);
    const opt = new AdamW([['a', a], ['b', b]], { lr: 0.1 });
    const ga = grads([['a', [1, -1]]]);
    const gb = grads([['a', [1, -1]], ['b', [2]]]);
    opt.step(ga);
    expectClose(b, [3], { atol: 0 }, 'b without gradient');
    opt.step(gb);
    const st = opt.exportState();
    expect(st.scalars.paramSteps).toEqual({ a: 2, b: 1 });
    // b's first step: m̂/√v̂ = sign(g) → b = 3·(1 − 0.1·0.01) − 0.1
    expectClose(b, [3 * 0.999 - 0.1], { atol: 1e-6 }, 'b after its first step');
    tf.dispose([a, b, ...ga.values(), ...gb.values(), ...st.tensors.values()]);
    opt.dispose();
  });

  it('exportState → importState continues bit-identically; mismatches are errors naming the field', () => {
    const run = (split: boolean) => {
      const p = variableOf([0.5, -1.5, 2], [3]);
      let opt = new AdamW([['p', p]], { lr: 0.05, weightDecay: 0.1 });
      for (let i = 0; i < 4; i++) {
        if (split && i === 2) {
          const st = opt.exportState();
          opt.dispose();
          opt = new AdamW([['p', p]], { lr: 0.05, weightDecay: 0.1 });
          opt.importState(st);
          tf.dispose([...st.tensors.values()]);
        }
        const g = grads([['p', [Math.sin(i), Math.cos(i), 0.1 * i]]]);
        opt.step(g);
        tf.dispose([...g.values()]);
      }
      const out = Array.from(p.dataSync());
      p.dispose();
      opt.dispose();
      return out;
    };
    expect(run(true)).toEqual(run(false));

    const p = variableOf([1], [1]);
    const src = new AdamW([['p', p]], { lr: 0.1 });
    const g = grads([['p', [1]]]);
    src.step(g);
    const st = src.exportState();
    expect(() => new AdamW([['p', p]], { lr: 0.1, betas: [0.8, 0.999] }).importState(st)).toThrow(/betas: state \[0\.9,0\.999\]/);
    expect(() => new AdamW([['q', p]], { lr: 0.1 }).importState(st)).toThrow(/unknown parameter "p"/);
    const sgd = new SGD([['p', p]], { lr: 0.1, momentum: 0.9 });
    expect(() => sgd.importState(st)).toThrow(/holds AdamW state, this run uses SGD/);
    sgd.dispose();
    expect(() => new AdamW([['p', p]], { lr: 0.1, betas: [1, 0.999] })).toThrow(/beta1 1/);
    tf.dispose([p, ...g.values(), ...st.tensors.values()]);
    src.dispose();
  });
});
