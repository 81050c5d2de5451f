/**
 * Parameter-free modules (`nn.ReLU`, `nn.Sigmoid`, `nn.Identity`). They exist so that containers keep
 * PyTorch's child indices — e.g. SE's `fc = Sequential(Linear, ReLU, Linear, Sigmoid)` names its second linear
 * `fc.2` — and state dicts line up with torchvision / the official code.
 */
import * as tf from '@tensorflow/tfjs';
import { Module } from './module.js';

export class ReLU extends Module {
  forward<T extends tf.Tensor>(x: T): T {
    return tf.relu(x);
  }
}

export class Sigmoid extends Module {
  forward<T extends tf.Tensor>(x: T): T {
    return tf.sigmoid(x);
  }
}

/** Returns its input unchanged (the same tensor, not a copy). */
export class Identity extends Module {
  forward<T extends tf.Tensor>(x: T): T {
    return x;
  }
}
