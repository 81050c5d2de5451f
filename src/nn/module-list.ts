/**
 * `ModuleList`: PyTorch's `nn.ModuleList` — an indexed container whose children are named "0", "1", … so that
 * state-dict keys read `lateral_convs.0.conv.weight` as in mmdetection / torchvision. Unlike `Sequential` it has
 * no forward: the owner decides how the children are applied.
 */
import { Module } from './module.js';

export class ModuleList<M extends Module> extends Module {
  private readonly items: M[];

  constructor(items: readonly M[]) {
    super();
    this.items = [...items];
    this.items.forEach((m, i) => this.registerModule(String(i), m));
  }

  get length(): number {
    return this.items.length;
  }

  /** The child at index `i`. */
  at(i: number): M {
    const m = this.items[i];
    if (!m) throw new Error(`ModuleList: index ${i} out of range (length ${this.items.length})`);
    return m;
  }

  /** The children in index order (a copy of the list). */
  toArray(): M[] {
    return [...this.items];
  }
}
