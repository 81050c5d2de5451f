/**
 * `DerivedTensors`: tensors computed from a module's parameters (a BN-folded weight, Winograd-transformed filters)
 * and kept between inference calls instead of being rebuilt on every forward.
 *
 * Each entry is named and remembers the `dataId`s of the tensors it was built from. TF.js gives a tensor's data a
 * new `dataId` whenever it changes (`Variable.assign`: an optimizer step, `loadStateDict`), so an entry whose sources
 * still carry the same ids is current, and one whose sources changed is disposed and rebuilt — no version counters
 * to keep in step. The owner clears the entries when it goes back to training (`Module.train()`: the weights are about
 * to change every step, so keeping copies would only hold memory) and when it is disposed.
 *
 * The tensors handed out belong to this cache: callers must not dispose them. They are `tf.keep`-ed, so a
 * `tf.tidy` around the call that built them does not free them.
 */
import * as tf from '@tensorflow/tfjs';

let enabled = true;

/** Turn keeping derived tensors off (true → on again): the eval paths then build them per call, as in training. */
export function setDerivedTensors(on: boolean): void {
  enabled = on;
}

/** Whether the eval-mode paths keep derived tensors (`setDerivedTensors`). */
export function derivedTensorsEnabled(): boolean {
  return enabled;
}

interface Entry {
  sources: readonly object[];
  tensors: tf.Tensor[];
}

export class DerivedTensors {
  private readonly entries = new Map<string, Entry>();

  /** The tensors named `name` built by `make()` from `sources`; rebuilt when any source's data changed since. */
  get<T extends tf.Tensor>(name: string, sources: readonly tf.Tensor[], make: () => T[]): T[] {
    const ids = sources.map((s) => s.dataId);
    const hit = this.entries.get(name);
    if (hit && hit.sources.length === ids.length && hit.sources.every((id, i) => id === ids[i])) return hit.tensors as T[];
    if (hit) tf.dispose(hit.tensors);
    const tensors = make().map((t) => tf.keep(t));
    this.entries.set(name, { sources: ids, tensors });
    return tensors;
  }

  /** Number of tensors held. */
  get size(): number {
    let n = 0;
    for (const e of this.entries.values()) n += e.tensors.length;
    return n;
  }

  /** Dispose every entry. */
  clear(): void {
    for (const e of this.entries.values()) tf.dispose(e.tensors);
    this.entries.clear();
  }
}
