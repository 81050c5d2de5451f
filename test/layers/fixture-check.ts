/**
 * Runs one PyTorch fixture case (test/fixtures/layers) against a tiedet layer: `checkForward` compares
 * y = layer(x); `checkGradients` compares the gradients of L = Σ y·g with respect to x and every parameter.
 * Both load the fixture's parameters into the layer first.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, it } from 'vitest';
import type { Forward, Module } from '../../src/nn/module.js';
import { expectClose, type LayerFixtureCase, type LayerFixtures, type Tolerance } from '../nn/helpers.js';

export type FixtureLayer = Module & Forward<tf.Tensor, tf.Tensor>;

/**
 * Tolerances of the layer parity tests: outputs 1e-5 absolute (float32 vs PyTorch's float64 reference, values
 * O(1)); gradients 1e-5 absolute + 1e-4 relative — weight gradients sum n·h′·w′ products and the float32
 * accumulation order differs.
 */
export const LAYER_TOL = { output: { atol: 1e-5 }, grad: { atol: 1e-5, rtol: 1e-4 } } as const;

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

/**
 * The standard suite for one layer kind: for every fixture case with `layer === kind`, build the layer from the
 * case's config and check its forward pass and its gradients (each in its own test), with the tolerances given.
 * `verify` may check structure (e.g. a derived width) against the config before the numbers are compared.
 */
export function fixtureSuite<C>(
  title: string,
  fixtures: LayerFixtures,
  kind: string,
  build: (config: C) => FixtureLayer,
  tol: { output: Tolerance; grad: Tolerance },
  verify?: (layer: FixtureLayer, config: C) => void,
): void {
  describe(title, () => {
    for (const c of fixtures.cases.filter((k) => k.layer === kind)) {
      const checks = [['forward', checkForward, tol.output], ['gradients', checkGradients, tol.grad]] as const;
      for (const [what, check, t] of checks) {
        it(`${c.name}: ${what}`, () => {
          const layer = build(c.config as C);
          try {
            verify?.(layer, c.config as C);
            check(fixtures, c, layer, t);
          } finally {
            layer.dispose();
          }
        });
      }
    }
  });
}
