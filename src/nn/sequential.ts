/**
 * `Sequential`: children named "0", "1", … applied in order, as `nn.Sequential` (so a ResNet stage registered
 * as `layer1` has keys `layer1.0.conv1.weight`, …).
 */
import type * as tf from '@tensorflow/tfjs';
import { Module, type Forward } from './module.js';

export type SequentialLayer = Module & Forward<tf.Tensor, tf.Tensor>;

export class Sequential<I extends tf.Tensor = tf.Tensor, O extends tf.Tensor = tf.Tensor> extends Module {
  private readonly layers: SequentialLayer[];

  constructor(layers: readonly SequentialLayer[]) {
    super();
    this.layers = [...layers];
    this.layers.forEach((layer, i) => this.registerModule(String(i), layer));
  }

  /** Number of children. */
  get length(): number {
    return this.layers.length;
  }

  /** The child at index `i`. */
  at(i: number): SequentialLayer {
    const layer = this.layers[i];
    if (!layer) throw new Error(`Sequential: index ${i} out of range (length ${this.layers.length})`);
    return layer;
  }

  /** Apply the children in order. Intermediate tensors are not disposed here: call inside `tf.tidy`. */
  forward(x: I): O {
    let y: tf.Tensor = x;
    for (const layer of this.layers) y = layer.forward(y);
    return y as O;
  }
}
