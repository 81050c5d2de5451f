/**
 * tiedet's wasm gradient kernels against the cpu backend (tfjs-backend-cpu, bundled in @tensorflow/tfjs).
 *
 * Tolerance everywhere: max|wasm − cpu| ≤ 1e-4 · max(1, max|cpu|).
 * Inputs are fresh seeded random numbers; data moves between backends as plain arrays.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../src/engine/index.js';
import { heapAddress } from '../../src/engine/kernels/heap-wasm.js';
import { registerWasmKernels, stockWasmKernel, wasmKernelNames } from '../../src/engine/kernels/index.js';
import { conv2dBackpropInputImpl } from '../../src/engine/kernels/conv2d-backprop-input.js';
import { tuning as filterTuning } from '../../src/engine/kernels/conv2d-backprop-filter.js';
import { maxPoolGradImpl } from '../../src/engine/kernels/max-pool-grad.js';

const TOL = 1e-4;

type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];

/** mulberry32 */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let seedCounter = 1000;
function randomData(shape: number[]): { values: Float32Array; shape: number[] } {
  const r = rng(seedCounter++);
  const n = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = r() * 2 - 1;
  return { values, shape };
}

interface Data {
  values: Float32Array | Int32Array;
  shape: number[];
  dtype?: 'float32' | 'int32';
}

function toTensor(d: Data): tf.Tensor {
  return tf.tensor(d.values, d.shape, d.dtype ?? 'float32');
}

/** Run `f` on a backend with tensors made from `inputs`; return the outputs as plain data, leaving nothing behind. */
async function runOn(backend: 'cpu' | 'wasm', inputs: Data[], f: (...t: tf.Tensor[]) => tf.Tensor | tf.Tensor[]): Promise<Data[]> {
  const previous = tf.getBackend();
  if (previous !== backend) await tf.setBackend(backend);
  try {
    const ts = inputs.map(toTensor);
    const out = f(...ts);
    const outs = Array.isArray(out) ? out : [out];
    const data = outs.map((t) => ({ values: t.dataSync().slice() as Float32Array, shape: t.shape.slice() }));
    tf.dispose([...ts, ...outs]);
    return data;
  } finally {
    if (previous !== backend) await tf.setBackend(previous);
  }
}

function expectClose(actual: Data, expected: Data, what: string): void {
  expect(actual.shape, `${what}: shape`).toEqual(expected.shape);
  let maxRef = 0;
  let maxDiff = 0;
  for (let i = 0; i < expected.values.length; i++) {
    maxRef = Math.max(maxRef, Math.abs(expected.values[i]!));
    maxDiff = Math.max(maxDiff, Math.abs(actual.values[i]! - expected.values[i]!));
  }
  const bound = TOL * Math.max(1, maxRef);
  expect(maxDiff, `${what}: max|wasm − cpu| = ${maxDiff} > ${bound}`).toBeLessThanOrEqual(bound);
  expect(Number.isFinite(maxDiff), `${what}: non-finite difference`).toBe(true);
}

/** Compare f on wasm against f on cpu, for fresh random inputs of the given shapes. */
async function compare(what: string, inputs: Data[], f: (...t: tf.Tensor[]) => tf.Tensor | tf.Tensor[]): Promise<void> {
  const ref = await runOn('cpu', inputs, f);
  const got = await runOn('wasm', inputs, f);
  expect(got.length).toBe(ref.length);
  got.forEach((g, i) => expectClose(g, ref[i]!, `${what} [output ${i}]`));
}

/** Run f on wasm twice and check that tensor and buffer counts return to where they were. */
function expectNoLeak(f: () => tf.Tensor | tf.Tensor[]): void {
  const out0 = f();
  tf.dispose(out0);
  const before = tf.memory();
  const out = f();
  tf.dispose(out);
  const after = tf.memory();
  expect(after.numTensors).toBe(before.numTensors);
  expect(after.numDataBuffers).toBe(before.numDataBuffers);
  expect(after.numBytes).toBe(before.numBytes);
}

interface ConvCase {
  x: number[];
  k: [number, number];
  co: number;
  s: number | [number, number];
  pad: Pad;
  round?: 'floor' | 'round' | 'ceil';
}

const CONV_CASES: ConvCase[] = [
  { x: [2, 9, 8, 5], k: [3, 3], co: 7, s: 1, pad: 'same' },
  { x: [2, 9, 8, 5], k: [3, 3], co: 7, s: 2, pad: 'same' },
  { x: [1, 10, 11, 4], k: [3, 3], co: 6, s: 2, pad: 'valid' },
  { x: [2, 12, 12, 3], k: [7, 7], co: 8, s: 2, pad: 'same' },
  { x: [2, 11, 11, 3], k: [7, 7], co: 4, s: 2, pad: 'valid' },
  { x: [2, 7, 9, 40], k: [3, 3], co: 33, s: 1, pad: [[0, 0], [2, 1], [0, 3], [0, 0]] },
  { x: [2, 7, 9, 6], k: [1, 1], co: 5, s: 2, pad: 'same' },
  { x: [2, 8, 8, 24], k: [1, 1], co: 16, s: 1, pad: 'valid' },
  { x: [1, 13, 13, 4], k: [5, 5], co: 3, s: 3, pad: [[0, 0], [1, 2], [2, 0], [0, 0]] },
  { x: [2, 8, 8, 4], k: [3, 3], co: 3, s: 2, pad: [[0, 0], [4, 0], [0, 4], [0, 0]] },
  { x: [2, 9, 10, 6], k: [3, 2], co: 5, s: [2, 1], pad: 'same' },
  { x: [2, 9, 10, 20], k: [3, 3], co: 6, s: [1, 2], pad: 'valid' },
  { x: [2, 10, 9, 4], k: [3, 3], co: 5, s: 2, pad: 1, round: 'floor' },
  { x: [2, 6, 6, 130], k: [3, 3], co: 128, s: 1, pad: 'same' },
  { x: [1, 6, 5, 64], k: [3, 3], co: 256, s: 2, pad: 'same' },
  { x: [2, 16, 16, 48], k: [3, 3], co: 40, s: 2, pad: 'same' },
];

function caseName(c: ConvCase): string {
  return `x[${c.x}] ${c.k.join('x')}→${c.co} s${c.s} pad ${JSON.stringify(c.pad)}${c.round ? ' ' + c.round : ''}`;
}

function convOut(c: ConvCase): number[] {
  const info = tf.backend_util.computeConv2DInfo(
    c.x as [number, number, number, number],
    [c.k[0], c.k[1], c.x[3]!, c.co],
    c.s,
    1,
    c.pad,
    c.round,
  );
  return info.outShape;
}

beforeAll(async () => {
  const info = await initEngine({ backend: 'wasm', threads: 2 });
  expect(info.backend).toBe('wasm');
  expect(info.projectKernels.slice().sort()).toEqual(wasmKernelNames().slice().sort());
});

describe('registration', () => {
  it('is idempotent and replaces the stock Conv2DBackpropInput', () => {
    expect(registerWasmKernels()).toEqual([]);
    expect(stockWasmKernel('Conv2DBackpropInput')).toBeDefined();
    for (const name of wasmKernelNames()) expect(tf.getKernel(name, 'wasm'), name).toBeDefined();
  });
});

describe('Identity (wasm) shares the buffer', () => {
  it('tf.clone allocates nothing, keeps values after the source or a variable moves on, and frees on the last dispose', () => {
    const before = tf.memory();
    const x = tf.tensor2d([[1, 2], [3, 4]]);
    const y = tf.clone(x);
    // the clone is a second tensor on x's heap buffer
    expect(tf.memory().numTensors).toBe(before.numTensors + 2);
    expect(heapAddress(y)).toBe(heapAddress(x));
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3, 4]);
    const [v0, v1] = [tf.tensor1d([5, 6]), tf.tensor1d([7, 8])];
    const v = tf.variable(v0);
    const kept = tf.clone(v);
    v.assign(v1);
    expect(Array.from(kept.dataSync())).toEqual([5, 6]);
    expect(Array.from(v.dataSync())).toEqual([7, 8]);
    const strings = tf.tensor1d(['a', 'b'], 'string');
    const s = tf.clone(strings);
    expect(s.dataSync()).toEqual(['a', 'b']);
    tf.dispose([y, v, v0, v1, kept, strings, s]);
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);
  });
});

describe('Conv2DBackpropFilter (wasm) equals cpu', () => {
  for (const c of CONV_CASES) {
    it(caseName(c), async () => {
      const filterShape = [c.k[0], c.k[1], c.x[3]!, c.co];
      const attrs = { strides: c.s, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: c.round, filterShape };
      await compare('dW', [randomData(c.x), randomData(convOut(c))], (x, dy) =>
        tf.engine().runKernel('Conv2DBackpropFilter', { x: x!, dy: dy! }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor,
      );
    });
  }
});

describe('Conv2DBackpropFilter (wasm) in row and tap chunks equals cpu', () => {
  for (const c of [CONV_CASES[1]!, CONV_CASES[3]!, CONV_CASES[5]!, CONV_CASES[10]!]) {
    it(caseName(c), async () => {
      const filterShape = [c.k[0], c.k[1], c.x[3]!, c.co];
      const attrs = { strides: c.s, pad: c.pad, dataFormat: 'NHWC', filterShape };
      const saved = { ...filterTuning };
      try {
        // A few output rows per GEMM (chunks cross image boundaries) and one or two taps per patch matrix.
        Object.assign(filterTuning, { splitInnerAbove: 0, innerLen: 3 * c.x[2]!, maxChunkBytes: 2 * 4 * c.x[3]! * 3 * c.x[2]! });
        await compare('dW chunked', [randomData(c.x), randomData(convOut(c))], (x, dy) =>
          tf.engine().runKernel('Conv2DBackpropFilter', { x: x!, dy: dy! }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor,
        );
      } finally {
        Object.assign(filterTuning, saved);
      }
    });
  }
});

describe('Conv2DBackpropInput (wasm) equals cpu', () => {
  for (const c of CONV_CASES) {
    it(caseName(c), async () => {
      const filterShape = [c.k[0], c.k[1], c.x[3]!, c.co];
      const attrs = { strides: c.s, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: c.round, inputShape: c.x };
      const inputs = [randomData(convOut(c)), randomData(filterShape)];
      // The registered kernel (strategy chosen by the cost model) …
      await compare('dx', inputs, (dy, w) =>
        tf.engine().runKernel('Conv2DBackpropInput', { dy: dy!, filter: w! }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor,
      );
      // … and both strategies explicitly (the cpu side runs the cpu kernel each time).
      for (const strategy of ['phase', 'gemm'] as const) {
        const ref = await runOn('cpu', inputs, (dy, w) =>
          tf.engine().runKernel('Conv2DBackpropInput', { dy: dy!, filter: w! }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor,
        );
        const got = await runOn('wasm', inputs, (dy, w) =>
          conv2dBackpropInputImpl(dy as tf.Tensor4D, w as tf.Tensor4D, attrs as never, strategy),
        );
        expectClose(got[0]!, ref[0]!, `dx/${strategy}`);
      }
    });
  }
});

interface DwCase {
  x: number[];
  k: number;
  mult: number;
  s: number;
  pad: Pad;
}

const DW_CASES: DwCase[] = [
  { x: [2, 9, 8, 6], k: 3, mult: 1, s: 1, pad: 'same' },
  { x: [2, 9, 8, 6], k: 3, mult: 2, s: 2, pad: 'same' },
  { x: [1, 10, 11, 4], k: 5, mult: 3, s: 2, pad: 'valid' },
  { x: [2, 8, 7, 5], k: 3, mult: 1, s: 1, pad: [[0, 0], [2, 0], [1, 1], [0, 0]] },
  { x: [3, 12, 12, 16], k: 3, mult: 1, s: 2, pad: 'same' },
];

function dwOut(c: DwCase): number[] {
  return tf.backend_util.computeConv2DInfo(
    c.x as [number, number, number, number],
    [c.k, c.k, c.x[3]!, c.mult],
    c.s,
    1,
    c.pad,
    undefined,
    true,
  ).outShape;
}

describe('DepthwiseConv2dNativeBackprop{Filter,Input} (wasm) equal cpu', () => {
  for (const c of DW_CASES) {
    it(`x[${c.x}] ${c.k}x${c.k} mult ${c.mult} s${c.s} pad ${JSON.stringify(c.pad)}`, async () => {
      const filterShape = [c.k, c.k, c.x[3]!, c.mult];
      const base = { strides: c.s, pad: c.pad, dilations: [1, 1] };
      await compare('dW', [randomData(c.x), randomData(dwOut(c))], (x, dy) =>
        tf.engine().runKernel(
          'DepthwiseConv2dNativeBackpropFilter',
          { x: x!, dy: dy! },
          { ...base, filterShape } as unknown as tf.NamedAttrMap,
        ) as tf.Tensor,
      );
      await compare('dx', [randomData(dwOut(c)), randomData(filterShape)], (dy, w) =>
        tf.engine().runKernel(
          'DepthwiseConv2dNativeBackpropInput',
          { dy: dy!, filter: w! },
          { ...base, inputShape: c.x } as unknown as tf.NamedAttrMap,
        ) as tf.Tensor,
      );
    });
  }
});

describe('UnsortedSegmentSum (wasm) equals cpu', () => {
  const seg = (ids: number[], shape: number[]): Data => ({ values: Int32Array.from(ids), shape, dtype: 'int32' });
  const cases: [string, Data, Data, number][] = [
    ['rank-2 x, duplicates, an empty segment', randomData([6, 3]), seg([0, 2, 0, 1, 2, 2], [6]), 4],
    ['rank-3 x', randomData([6, 3, 4]), seg([0, 1, 1, 3, 0, 2], [6]), 4],
    ['ids outside [0, numSegments) are dropped', randomData([5, 2]), seg([-1, 1, 7, 1, 0], [5]), 3],
    ['rank-1 x', randomData([7]), seg([3, 3, 0, 1, 1, 1, 2], [7]), 5],
    ['int32 x', { values: Int32Array.from([1, 2, 3, 4, 5, 6]), shape: [3, 2], dtype: 'int32' }, seg([1, 0, 1], [3]), 2],
  ];
  for (const [name, x, ids, n] of cases) {
    it(name, async () => {
      await compare('segment sum', [x, ids], (xt, it) => tf.unsortedSegmentSum(xt!, it as tf.Tensor1D, n));
    });
  }
});

describe('MaxPoolGrad (wasm) equals cpu', () => {
  const cases: [number[], number, number, Pad][] = [
    [[2, 12, 12, 16], 3, 2, [[0, 0], [1, 1], [1, 1], [0, 0]]],
    [[2, 9, 11, 5], 3, 2, 'same'],
    [[1, 10, 10, 3], 2, 2, 'valid'],
    [[2, 7, 8, 4], 3, 1, 'same'],
  ];
  for (const [xs, k, s, pad] of cases) {
    it(`x[${xs}] ${k}x${k} s${s} pad ${JSON.stringify(pad)}, with ties (ReLU zeros)`, async () => {
      const x = randomData(xs);
      // Half the inputs are clamped to 0, so many windows have ties (as after a ReLU); windows of all zeros too.
      x.values.forEach((v, i) => (x.values[i] = i % 7 < 4 ? Math.max(0, v) : 0));
      await compare('maxPool grad', [x], (t) =>
        tf.grads((a: tf.Tensor) => {
          const y = tf.maxPool(a as tf.Tensor4D, k, s, pad as never);
          return tf.sum(tf.mul(y, tf.range(1, y.size + 1).reshape(y.shape)));
        })([t!]),
      );
      // Without the pooled output (the kernel then finds the first maximum itself).
      const attrs = { filterSize: k, strides: s, pad };
      const outShape = tf.backend_util.computePool2DInfo(xs as never, k, s, 1, pad as never).outShape;
      const dy = randomData(outShape);
      const ref = await runOn('cpu', [x, dy], (xt, dyt) =>
        tf.engine().runKernel('MaxPoolGrad', { dy: dyt!, input: xt!, output: tf.maxPool(xt as tf.Tensor4D, k, s, pad as never) }, attrs as never) as tf.Tensor,
      );
      const got = await runOn('wasm', [x, dy], (xt, dyt) => maxPoolGradImpl(dyt as tf.Tensor4D, xt as tf.Tensor4D, attrs as never));
      expectClose(got[0]!, ref[0]!, 'maxPoolGrad without output');
    });
  }
});

describe('public gradients on wasm equal cpu', () => {
  it('tf.grads of conv2d (stride 1 and 2) w.r.t. x and filter', async () => {
    for (const [s, pad] of [
      [1, 'same'],
      [2, 'same'],
      [2, 'valid'],
    ] as const) {
      const xs = [2, 11, 10, 6];
      const ws = [3, 3, 6, 9];
      const out = tf.backend_util.computeConv2DInfo(xs as never, ws as never, s, 1, pad).outShape;
      await compare(`conv2d grads s${s} ${pad}`, [randomData(xs), randomData(ws), randomData(out)], (x, w, u) =>
        tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, pad), u!)))([
          x!,
          w!,
        ]),
      );
    }
  });

  it('tf.variableGrads of a fused conv2d (bias + relu) and a 1×1 stride-2 conv', async () => {
    const inputs = [randomData([2, 12, 12, 5]), randomData([3, 3, 5, 8]), randomData([8]), randomData([1, 1, 8, 4])];
    await compare('fused conv grads', inputs, (x, w, b, w2) => {
      const vw = tf.variable(w!);
      const vb = tf.variable(b!);
      const vw2 = tf.variable(w2!);
      const { value, grads } = tf.variableGrads(() => {
        const h = tf.fused.conv2d({ x: x as tf.Tensor4D, filter: vw as tf.Tensor4D, strides: 1, pad: 'same', bias: vb, activation: 'relu' });
        return tf.mean(tf.square(tf.conv2d(h, vw2 as tf.Tensor4D, 2, 'same')));
      }, [vw, vb, vw2]);
      const out = [value, grads[vw.name]!, grads[vb.name]!, grads[vw2.name]!];
      tf.dispose([vw, vb, vw2]);
      return out;
    });
  });

  it('tf.grads of depthwiseConv2d', async () => {
    const xs = [2, 9, 9, 4];
    const ws = [3, 3, 4, 2];
    const out = tf.backend_util.computeConv2DInfo(xs as never, ws as never, 2, 1, 'same', undefined, true).outShape;
    await compare('depthwise grads', [randomData(xs), randomData(ws), randomData(out)], (x, w, u) =>
      tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'), u!)),
      )([x!, w!]),
    );
  });

  it('tf.grads of gather (axis 0 with repeated indices, and axis 1)', async () => {
    const idx: Data = { values: Int32Array.from([3, 0, 3, 1, 3]), shape: [5], dtype: 'int32' };
    await compare('gather grads', [randomData([4, 6]), idx, randomData([5, 6]), randomData([4, 5])], (x, i, u0, u1) =>
      tf.grads((a: tf.Tensor) =>
        tf.add(tf.sum(tf.mul(tf.gather(a, i!, 0), u0!)), tf.sum(tf.mul(tf.gather(a, tf.slice(i!, 0, 4), 1).transpose(), tf.transpose(u1!).slice([0, 0], [4, 4]).transpose()))),
      )([x!]),
    );
  });

  it('tf.conv2dTranspose (forward use of Conv2DBackpropInput)', async () => {
    await compare('conv2dTranspose', [randomData([2, 5, 6, 7]), randomData([3, 3, 4, 7])], (x, w) =>
      tf.conv2dTranspose(x as tf.Tensor4D, w as tf.Tensor4D, [2, 10, 12, 4], 2, 'same'),
    );
  });
});

describe('no leaks: tensor and buffer counts unchanged after each kernel call', () => {
  it('all kernels', async () => {
    await tf.setBackend('wasm');
    const t = (d: Data) => toTensor(d);
    const x = t(randomData([2, 10, 10, 8])) as tf.Tensor4D;
    const dy1 = t(randomData([2, 5, 5, 6])) as tf.Tensor4D;
    const w = t(randomData([3, 3, 8, 6])) as tf.Tensor4D;
    const dyDw = t(randomData([2, 5, 5, 16])) as tf.Tensor4D;
    const wDw = t(randomData([3, 3, 8, 2])) as tf.Tensor4D;
    const ids = tf.tensor1d([0, 1, 1, -1, 2, 0, 1, 0, 1, 1], 'int32');
    const xs = tf.reshape(x, [2, 10, 80]).transpose([1, 0, 2]);
    const run = (name: string, inputs: tf.NamedTensorMap, attrs: object) => () =>
      tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap) as tf.Tensor;
    const conv = { strides: 2, pad: 'same', dataFormat: 'NHWC' };
    const dw = { strides: 2, pad: 'same', dilations: [1, 1] };
    for (const f of [
      run('Conv2DBackpropFilter', { x, dy: dy1 }, { ...conv, filterShape: [3, 3, 8, 6] }),
      run('Conv2DBackpropInput', { dy: dy1, filter: w }, { ...conv, inputShape: [2, 10, 10, 8] }),
      () => conv2dBackpropInputImpl(dy1, w, { ...conv, inputShape: [2, 10, 10, 8] } as never, 'gemm'),
      run('DepthwiseConv2dNativeBackpropFilter', { x, dy: dyDw }, { ...dw, filterShape: [3, 3, 8, 2] }),
      run('DepthwiseConv2dNativeBackpropInput', { dy: dyDw, filter: wDw }, { ...dw, inputShape: [2, 10, 10, 8] }),
      run('UnsortedSegmentSum', { x: xs, segmentIds: ids }, { numSegments: 3 }),
      () => tf.grads((a: tf.Tensor) => tf.sum(tf.maxPool(a as tf.Tensor4D, 3, 2, 'same')))([x]),
      () => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same')))([x, w]),
    ]) {
      expectNoLeak(f);
    }
    // The inputs are intact (a refcount slip would have freed them).
    expect(x.dataSync().length).toBe(1600);
    tf.dispose([x, dy1, w, dyDw, wDw, ids, xs]);
  });
});

describe('clear errors', () => {
  it('dilations > 1 and NCHW are refused by name', async () => {
    await tf.setBackend('wasm');
    const x = tf.zeros([1, 6, 6, 2]);
    const dy = tf.zeros([1, 2, 2, 2]);
    expect(() =>
      tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, {
        strides: 1,
        pad: 'valid',
        dilations: [2, 2],
        filterShape: [3, 3, 2, 1],
      } as unknown as tf.NamedAttrMap),
    ).toThrow(/dilations other than 1/);
    expect(() =>
      tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
        strides: 1,
        pad: 'valid',
        dataFormat: 'NCHW',
        filterShape: [3, 3, 2, 2],
      } as unknown as tf.NamedAttrMap),
    ).toThrow(/NHWC/);
    tf.dispose([x, dy]);
  });
});
