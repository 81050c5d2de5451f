/**
 * A backward pass that frees memory as it goes — installed as `tf.engine().gradients` (which `tf.grad(s)`,
 * `tf.variableGrads` and `optimizer.minimize` all use).
 *
 * TF.js 4.22's own backward pass keeps every node's saved activations and every intermediate gradient alive until
 * the whole pass has finished. Its peak memory is therefore the forward pass's saved tensors plus a gradient for
 * every one of them — at 800×1333 a Mask R-CNN step needs more than the wasm heap's 4 GiB. This one walks the same
 * filtered tape in the same order with the same gradient functions (so the numbers are identical), but after a
 * node has been differentiated it releases that node's saved tensors and the gradients of its outputs (all their
 * consumers come later in the tape, so they are final) — what PyTorch's autograd does. Nothing is released that
 * the caller asked for (the gradients of xs), that is still referenced by the gradient map, or, inside a
 * higher-order gradient (an outer tape still recording), any saved tensor.
 */
import * as tf from '@tensorflow/tfjs';

export interface TapeNode {
  id: number;
  kernelName: string;
  outputs: tf.Tensor[];
  inputs: Record<string, tf.Tensor>;
  gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
  saved?: tf.Tensor[];
}

export interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  scopedRun<T>(start: () => void, end: () => void, f: () => T): T;
  startTape(): void;
  endTape(): void;
  tidy<T extends tf.TensorContainer>(nameOrFn: string | (() => T), fn?: () => T): T;
  gradients: EngineInternals['eagerGradients'];
  eagerGradients<T extends tf.Tensor>(f: () => T, xs: tf.Tensor[], dy?: T, allowNoGradients?: boolean): { value: T; grads: tf.Tensor[] };
  tiedetEagerBackprop?: true;
}

/** The tape nodes on a path from any of `xs` to `y`, in tape order, inputs pruned to those that depend on xs. */
export function nodesFromXsToY(tape: readonly TapeNode[], xs: readonly tf.Tensor[], y: tf.Tensor): TapeNode[] {
  const fromX = new Set(xs.map((x) => x.id));
  const nodeFromX = new Set<number>();
  for (const node of tape) {
    if (Object.values(node.inputs).some((t) => fromX.has(t.id))) {
      nodeFromX.add(node.id);
      for (const o of node.outputs) fromX.add(o.id);
    }
  }
  const toY = new Set([y.id]);
  const nodeToY = new Set<number>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i]!;
    if (node.outputs.some((o) => toY.has(o.id))) {
      nodeToY.add(node.id);
      for (const t of Object.values(node.inputs)) toY.add(t.id);
    }
  }
  const out: TapeNode[] = [];
  for (const node of tape) {
    if (!nodeFromX.has(node.id) || !nodeToY.has(node.id)) continue;
    const inputs: Record<string, tf.Tensor> = {};
    for (const [name, t] of Object.entries(node.inputs)) if (fromX.has(t.id)) inputs[name] = t;
    out.push({ ...node, inputs });
  }
  return out;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function eagerGradients<T extends tf.Tensor>(
  this: EngineInternals,
  f: () => T,
  xs: tf.Tensor[],
  dy?: T,
  allowNoGradients = false,
): { value: T; grads: tf.Tensor[] } {
  if (xs.length === 0) throw new Error('gradients() received an empty list of xs.');
  if (dy != null && dy.dtype !== 'float32') throw new Error(`dy must have 'float32' dtype, but has '${dy.dtype}'`);
  const y = this.scopedRun(
    () => this.startTape(),
    () => this.endTape(),
    () => this.tidy('forward', f),
  );
  if (!(y instanceof tf.Tensor)) throw new Error('The result y returned by f() must be a tensor.');
  return backward(this, this.state.activeTape ?? [], xs, y, dy, allowNoGradients);
}

/**
 * The memory-releasing backward pass over a recorded `tape` (see the file comment): gradients of `y` with respect
 * to `xs`. At gradient depth 0 it frees every saved tensor of the tape and clears the engine's active tape.
 */
export function backward<T extends tf.Tensor>(
  engine: EngineInternals,
  tape: TapeNode[],
  xs: tf.Tensor[],
  y: T,
  dy?: T,
  allowNoGradients = false,
): { value: T; grads: tf.Tensor[] } {
  const self = engine;
  const filtered = nodesFromXsToY(tape, xs, y);
  if (!allowNoGradients && filtered.length === 0 && xs.length > 0) {
    throw new Error(
      'Cannot compute gradient of y=f(x) with respect to x. Make sure that the f you passed encloses all operations that lead from x to y.',
    );
  }
  const releaseSaved = self.state.gradientDepth === 0;
  return self.tidy('backward', () => {
    const grads = new Map<number, tf.Tensor>();
    const refs = new Map<tf.Tensor, number>();
    const wanted = new Set(xs.map((x) => x.id));
    const put = (id: number, t: tf.Tensor) => {
      grads.set(id, t);
      refs.set(t, (refs.get(t) ?? 0) + 1);
    };
    const take = (id: number): tf.Tensor | undefined => {
      const t = grads.get(id);
      if (t === undefined) return undefined;
      grads.delete(id);
      const n = (refs.get(t) ?? 1) - 1;
      if (n > 0) refs.set(t, n);
      else refs.delete(t);
      return t;
    };
    const release = (t: tf.Tensor | undefined) => {
      if (t !== undefined && !refs.has(t) && t !== y && t !== dy) t.dispose();
    };
    put(y.id, dy ?? tf.onesLike(y));
    for (let i = filtered.length - 1; i >= 0; i--) {
      const node = filtered[i]!;
      const dys = node.outputs.map((o) => grads.get(o.id) ?? null);
      if (node.gradient == null) throw new Error(`Cannot compute gradient: gradient function not found for ${node.kernelName}.`);
      const inputGradients = node.gradient(dys);
      for (const [name, x] of Object.entries(node.inputs)) {
        if (!(name in inputGradients)) {
          throw new Error(`Cannot backprop through input ${name}. Available gradients found: ${Object.keys(inputGradients)}.`);
        }
        const dx = tf.tidy(() => inputGradients[name]!());
        if (dx.dtype !== 'float32') {
          throw new Error(`Error in gradient for op ${node.kernelName}. The gradient of input ${name} must have 'float32' dtype, but has '${dx.dtype}'`);
        }
        if (!sameShape(dx.shape, x.shape)) {
          throw new Error(
            `Error in gradient for op ${node.kernelName}. The gradient of input '${name}' has shape '${dx.shape}', which does not match the shape of the input '${x.shape}'`,
          );
        }
        const current = take(x.id);
        if (current === undefined) {
          put(x.id, dx);
        } else {
          put(x.id, tf.add(current, dx));
          release(current);
          if (!dys.includes(dx)) release(dx);
        }
      }
      // Every consumer of this node's outputs came later in the tape: their gradients are final and used up.
      for (const o of node.outputs) if (!wanted.has(o.id)) release(take(o.id));
      if (releaseSaved) for (const t of node.saved ?? []) if (!refs.has(t)) t.dispose();
    }
    const out = xs.map((x) => grads.get(x.id)) as tf.Tensor[];
    if (self.state.gradientDepth === 0) {
      for (const node of tape) for (const t of node.saved ?? []) t.dispose();
      if (self.state.activeTape === tape) self.state.activeTape = null;
    }
    return { value: y, grads: out };
  });
}

/** Replace the engine's backward pass with the memory-releasing one (idempotent). */
export function installEagerBackprop(): void {
  const engine = tf.engine() as unknown as EngineInternals;
  if (engine.tiedetEagerBackprop) return;
  engine.gradients = eagerGradients as EngineInternals['eagerGradients'];
  engine.tiedetEagerBackprop = true;
}
