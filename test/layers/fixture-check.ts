/**
 * Runs one PyTorch fixture case (test/fixtures/layers) against a tiedet layer: `checkForward` compares
 * y = layer(x); `checkGradients` compares the gradients of L = Σ y·g with respect to x and every parameter.
 * Both load the fixture's parameters into the layer first.
 */
import * as tf from '@tensorflow/tfjs';
import type { Forward, Module } from '../../src/nn/module.js';
import { expectClose, type LayerFixtureCase, type LayerFixtures, type Tolerance } from '../nn/helpers.js';

export type FixtureLayer = Module & Forward<tf.Tensor, tf.Tensor>;

function loadParams(fx: LayerFixtures, c: LayerFixtureCase, layer: FixtureLayer): void {
  const state = new Map(c.params.map((p) => [p, fx.tensor(c, `param.${p}`)] as const));
  try {
    layer.loadStateDict(state);
  } finally {
    tf.dispose([...state.values()]);
  }
}

export function checkForward(fx: LayerFixtures, c: LayerFixtureCase, layer: FixtureLayer, tol: Tolerance): void {
  loadParams(fx, c, layer);
  tf.tidy(() => expectClose(layer.forward(fx.tensor(c, 'x')), fx.tensor(c, 'y'), tol, `${c.name} y`));
}

export function checkGradients(fx: LayerFixtures, c: LayerFixtureCase, layer: FixtureLayer, tol: Tolerance): void {
  loadParams(fx, c, layer);
  const xInit = fx.tensor(c, 'x');
  const x = tf.variable(xInit);
  xInit.dispose();
  const g = fx.tensor(c, 'g');
  const named = layer.namedParameters();
  try {
    const { value, grads } = tf.variableGrads(
      () => tf.sum(tf.mul(layer.forward(x), g)) as tf.Scalar,
      [x, ...named.map(([, v]) => v)],
    );
    try {
      tf.tidy(() => {
        expectClose(grads[x.name]!, fx.tensor(c, 'dx'), tol, `${c.name} dx`);
        for (const [name, v] of named) expectClose(grads[v.name]!, fx.tensor(c, `grad.${name}`), tol, `${c.name} d${name}`);
      });
    } finally {
      value.dispose();
      tf.dispose(grads);
    }
  } finally {
    x.dispose();
    g.dispose();
  }
}
