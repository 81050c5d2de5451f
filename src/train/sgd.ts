/**
 * SGD with momentum and weight decay, PyTorch semantics (`torch.optim.SGD`), for named `tf.Variable`s.
 *
 * Per parameter p with gradient g, each `step`:
 *   d = g + wd·p                                  (weight decay, coupled: L2 added to the gradient)
 *   buf = d                     at its first step (the buffer is created from d, not from zero)
 *   buf = μ·buf + (1 − dampening)·d   afterwards
 *   d = nesterov ? d + μ·buf : buf                 (when μ ≠ 0)
 *   p ← p − lr·d
 * Parameters without a gradient in a step (frozen, unused) are skipped entirely: no decay, no buffer update
 * (PyTorch skips `p.grad is None`).
 *
 * State is kept per parameter NAME (the module's dotted names) so it can be saved in checkpoints
 * (`stateDict()` / `loadStateDict()`) and survives a rebuilt model. `lr` is public for schedules.
 *
 * Memory: the optimizer owns its momentum buffers (freed by `dispose()`); it never disposes the gradients it is
 * given — the caller does (`tf.dispose(grads)`). All temporaries live in a `tf.tidy`.
 */
import * as tf from '@tensorflow/tfjs';
import { gradientFor, uniqueParams, type Gradients, type OptimizerState } from './optimizer-state.js';

export interface SGDOptions {
  lr: number;
  /** μ; default 0. */
  momentum?: number;
  /** Default 0. */
  dampening?: number;
  /** L2 weight decay; default 0. */
  weightDecay?: number;
  /** Default false; needs momentum > 0 and dampening 0 (as PyTorch). */
  nesterov?: boolean;
}

/** Optimizer state: hyper-parameters, step count and momentum buffers by parameter name. */
export interface SGDState {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  /** Number of `step` calls so far. */
  steps: number;
  /** Momentum buffers by parameter name (only parameters that have had a step with momentum). */
  momentumBuffers: Map<string, tf.Tensor>;
}

export class SGD {
  readonly type = 'SGD' as const;
  lr: number;
  readonly momentum: number;
  readonly dampening: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
  private readonly params: ReadonlyArray<readonly [string, tf.Variable]>;
  private readonly buffers = new Map<string, tf.Tensor>();
  private stepCount = 0;
  private isDisposed = false;

  /**
   * @param params named parameters, e.g. `model.namedParameters()` (frozen ones may be included; they get no
   *   gradients and are skipped).
   */
  constructor(params: Iterable<readonly [string, tf.Variable]>, opts: SGDOptions) {
    this.params = uniqueParams('SGD', params);
    this.lr = opts.lr;
    this.momentum = opts.momentum ?? 0;
    this.dampening = opts.dampening ?? 0;
    this.weightDecay = opts.weightDecay ?? 0;
    this.nesterov = opts.nesterov ?? false;
    if (!(this.lr >= 0)) throw new Error(`SGD: invalid learning rate ${this.lr}`);
    if (!(this.momentum >= 0)) throw new Error(`SGD: invalid momentum ${this.momentum}`);
    if (!(this.weightDecay >= 0)) throw new Error(`SGD: invalid weight decay ${this.weightDecay}`);
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new Error('SGD: nesterov momentum requires a momentum and zero dampening');
    }
  }

  /** Number of `step` calls so far. */
  get steps(): number {
    return this.stepCount;
  }

  /**
   * Apply one update. `grads` is keyed by parameter name (a Map) or by TF.js variable name (the `grads` object
   * of `tf.variableGrads`). Gradients are not disposed.
   */
  step(grads: Gradients): void {
    if (this.isDisposed) throw new Error('SGD.step: the optimizer was disposed');
    const { lr, momentum: mu, dampening, weightDecay: wd, nesterov } = this;
    for (const [name, p] of this.params) {
      const g = gradientFor(grads, name, p);
      if (!g) continue;
      if (!tf.util.arraysEqual(g.shape, p.shape)) {
        throw new Error(`SGD.step: gradient for "${name}" has shape [${g.shape.join(', ')}], parameter [${p.shape.join(', ')}]`);
      }
      const oldBuf = this.buffers.get(name);
      const newBuf = tf.tidy(() => {
        let d: tf.Tensor = wd !== 0 ? tf.add(g, tf.mul(p, wd)) : g;
        let buf: tf.Tensor | undefined;
        if (mu !== 0) {
          buf = oldBuf ? tf.add(tf.mul(oldBuf, mu), dampening !== 0 ? tf.mul(d, 1 - dampening) : d) : tf.clone(d);
          d = nesterov ? tf.add(d, tf.mul(buf, mu)) : buf;
        }
        p.assign(tf.sub(p, tf.mul(d, lr)));
        return buf ? tf.keep(buf) : undefined;
      });
      if (newBuf) {
        oldBuf?.dispose();
        this.buffers.set(name, newBuf);
      }
    }
    this.stepCount += 1;
  }

  /** A copy of the state (the caller owns and must dispose the returned buffers). */
  stateDict(): SGDState {
    return {
      lr: this.lr,
      momentum: this.momentum,
      dampening: this.dampening,
      weightDecay: this.weightDecay,
      nesterov: this.nesterov,
      steps: this.stepCount,
      momentumBuffers: new Map([...this.buffers].map(([k, t]) => [k, tf.clone(t)])),
    };
  }

  /**
   * Restore buffers, step count and lr from `state` (copied; the caller keeps ownership). Buffers for unknown
   * parameter names or with wrong shapes are errors, naming them. Momentum / dampening / decay / nesterov are
   * construction options and must match.
   */
  loadStateDict(state: SGDState): void {
    if (this.isDisposed) throw new Error('SGD.loadStateDict: the optimizer was disposed');
    const byName = new Map(this.params);
    const problems: string[] = [];
    for (const key of ['momentum', 'dampening', 'weightDecay', 'nesterov'] as const) {
      if (state[key] !== this[key]) problems.push(`${key}: state ${String(state[key])}, optimizer ${String(this[key])}`);
    }
    for (const [name, t] of state.momentumBuffers) {
      const p = byName.get(name);
      if (!p) problems.push(`momentum buffer for unknown parameter "${name}"`);
      else if (!tf.util.arraysEqual(p.shape, t.shape)) {
        problems.push(`momentum buffer "${name}" has shape [${t.shape.join(', ')}], parameter [${p.shape.join(', ')}]`);
      }
    }
    if (problems.length) throw new Error(`SGD.loadStateDict: ${problems.join('; ')}`);
    this.clearBuffers();
    for (const [name, t] of state.momentumBuffers) this.buffers.set(name, tf.keep(tf.clone(t)));
    this.stepCount = state.steps;
    this.lr = state.lr;
  }

  /** The state for a checkpoint: scalars, and the momentum buffers keyed by parameter name (copies, caller-owned). */
  exportState(): OptimizerState {
    const { momentumBuffers, ...scalars } = this.stateDict();
    return { type: 'SGD', scalars, tensors: momentumBuffers };
  }

  /** Restore from `exportState()`'s form (see `loadStateDict`). */
  importState(state: OptimizerState): void {
    if (state.type !== 'SGD') throw new Error(`optimizer: the checkpoint holds ${state.type} state, this run uses SGD`);
    const s = state.scalars as unknown as Omit<SGDState, 'momentumBuffers'>;
    this.loadStateDict({ ...s, momentumBuffers: state.tensors });
  }

  private clearBuffers(): void {
    for (const t of this.buffers.values()) t.dispose();
    this.buffers.clear();
  }

  /** Free the momentum buffers; the optimizer cannot be used afterwards. Idempotent. */
  dispose(): void {
    if (this.isDisposed) return;
    this.clearBuffers();
    this.isDisposed = true;
  }
}
