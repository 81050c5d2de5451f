/**
 * The `Backbone` contract: what a detector (detectors/) and a neck (src/necks/fpn.ts) need from a backbone — a
 * `Module` whose forward gives C2–C5 with known channels and strides. ResNet / ResNeXt / TiedResNet (resnet.ts,
 * tied-resnet.ts, presets.ts) implement it; a new backbone does too.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Module } from '../nn/module.js';

/** C2–C5: the outputs of layer1…layer4 (strides 4, 8, 16, 32). */
export interface BackboneFeatures {
  c2: tf.Tensor4D;
  c3: tf.Tensor4D;
  c4: tf.Tensor4D;
  c5: tf.Tensor4D;
}

export type StageChannels = readonly [number, number, number, number];

/** What a detector needs from a backbone. */
export interface Backbone extends Module {
  /** Channels of C2–C5. */
  readonly outChannels: StageChannels;
  /** Strides of C2–C5 relative to the input. */
  readonly strides: StageChannels;
  forward(x: tf.Tensor4D): BackboneFeatures;
}
