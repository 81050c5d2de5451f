/**
 * A ResNet-18-style classifier (torchvision's layout: 7×7/2 stem, max-pool, four stages of two BasicBlocks with
 * 64–512 channels, global average pool, fc) built from tiedet's nn blocks. Used by `bench:engine` to time a full
 * training step; the detection backbones live in src/backbones.
 */
import * as tf from '@tensorflow/tfjs';
import { BatchNorm2d } from '../../src/nn/batchnorm2d.js';
import { Conv2d } from '../../src/nn/conv2d.js';
import { globalAvgPool, maxPool2d } from '../../src/nn/functional.js';
import { kaimingNormalFanOutRelu } from '../../src/nn/init.js';
import { Linear } from '../../src/nn/linear.js';
import { Module } from '../../src/nn/module.js';
import type { Rng } from '../../src/nn/rng.js';
import { Sequential } from '../../src/nn/sequential.js';

function conv(rng: Rng, inC: number, outC: number, k: number, stride: number): Conv2d {
  return new Conv2d({
    inChannels: inC,
    outChannels: outC,
    kernelSize: k,
    stride,
    padding: (k - 1) >> 1,
    bias: false,
    rng,
    weightInit: kaimingNormalFanOutRelu,
  });
}

class BasicBlock extends Module {
  private readonly conv1: Conv2d;
  private readonly bn1: BatchNorm2d;
  private readonly conv2: Conv2d;
  private readonly bn2: BatchNorm2d;
  private readonly downsample: Sequential<tf.Tensor4D, tf.Tensor4D> | null;

  constructor(rng: Rng, inC: number, outC: number, stride: number) {
    super();
    this.conv1 = this.registerModule('conv1', conv(rng, inC, outC, 3, stride));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d({ numFeatures: outC }));
    this.conv2 = this.registerModule('conv2', conv(rng, outC, outC, 3, 1));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d({ numFeatures: outC }));
    // torchvision: downsample.0 (1×1 conv) and downsample.1 (BN)
    this.downsample =
      stride !== 1 || inC !== outC
        ? this.registerModule('downsample', new Sequential<tf.Tensor4D, tf.Tensor4D>([conv(rng, inC, outC, 1, stride), new BatchNorm2d({ numFeatures: outC })]))
        : null;
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    const y = tf.relu(this.bn1.forward(this.conv1.forward(x)));
    const z = this.bn2.forward(this.conv2.forward(y));
    const identity = this.downsample ? this.downsample.forward(x) : x;
    return tf.relu(tf.add(z, identity)) as tf.Tensor4D;
  }
}

export class ResNet18 extends Module {
  private readonly conv1: Conv2d;
  private readonly bn1: BatchNorm2d;
  private readonly layers: Sequential<tf.Tensor4D, tf.Tensor4D>[] = [];
  private readonly fc: Linear;

  constructor(rng: Rng, numClasses = 10) {
    super();
    this.conv1 = this.registerModule('conv1', conv(rng, 3, 64, 7, 2));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d({ numFeatures: 64 }));
    const widths = [64, 128, 256, 512];
    let inC = 64;
    widths.forEach((w, stage) => {
      const blocks = [new BasicBlock(rng, inC, w, stage > 0 ? 2 : 1), new BasicBlock(rng, w, w, 1)];
      this.layers.push(this.registerModule(`layer${stage + 1}`, new Sequential<tf.Tensor4D, tf.Tensor4D>(blocks)));
      inC = w;
    });
    this.fc = this.registerModule('fc', new Linear({ inFeatures: 512, outFeatures: numClasses, rng }));
  }

  /** [n, h, w, 3] → logits [n, classes]. */
  forward(x: tf.Tensor4D): tf.Tensor2D {
    let y = tf.relu(this.bn1.forward(this.conv1.forward(x)));
    y = maxPool2d(y, { kernelSize: 3, stride: 2, padding: 1 });
    for (const layer of this.layers) y = layer.forward(y);
    return this.fc.forward(globalAvgPool(y));
  }
}
