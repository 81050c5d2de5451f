/**
 * PyTorch weights in and out of tiedet modules: a small network written by PyTorch with the official TBC names
 * (test/fixtures/io, tools/fixtures/safetensors_io.py) loads and reproduces PyTorch's output; save → load
 * round trips; key / shape mismatches and the strict:false report; layout rules.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTorchWeights, saveTorchWeights } from '../../src/io/torch-weights.js';
import { readSafetensors, writeSafetensors, type SafetensorsInput } from '../../src/io/safetensors.js';
import { describeState, dropClassifier, officialTbcNames, toTiedetLayout, toTorchLayout, torchShape } from '../../src/io/torch-layout.js';
import { TiedBlockConv2d } from '../../src/layers/tbc.js';
import { TiedLinear } from '../../src/layers/tfc.js';
import { TiedGCB } from '../../src/layers/tied-gcb.js';
import { TiedSE } from '../../src/layers/tied-se.js';
import { BatchNorm2d } from '../../src/nn/batchnorm2d.js';
import { Conv2d } from '../../src/nn/conv2d.js';
import { globalAvgPool } from '../../src/nn/functional.js';
import { Linear } from '../../src/nn/linear.js';
import { Module } from '../../src/nn/module.js';
import { Rng } from '../../src/nn/rng.js';
import { expectClose, setupBackend } from '../nn/helpers.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'io');
const MINI = join(FIXTURES, 'mini_net.safetensors');
const tmp = mkdtempSync(join(tmpdir(), 'tiedet-ckpt-'));

/** tools/fixtures/safetensors_io.py's MiniNet, from tiedet modules (NHWC). */
class MiniNet extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly tbc: TiedBlockConv2d;
  readonly tgc: TiedBlockConv2d;
  readonly gconv: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly gcb: TiedGCB;
  readonly se: TiedSE;
  readonly fc: Linear;
  readonly tfc: TiedLinear;

  constructor(seed: number, opts: { fcOut?: number } = {}) {
    super();
    const rng = new Rng(seed);
    const fcOut = opts.fcOut ?? 12;
    this.conv1 = this.registerModule('conv1', new Conv2d({ inChannels: 3, outChannels: 8, kernelSize: 3, stride: 2, padding: 1, bias: false, rng }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d({ numFeatures: 8 }));
    this.tbc = this.registerModule('tbc', new TiedBlockConv2d({ inChannels: 8, outChannels: 16, kernelSize: 3, padding: 1, blocks: 2, rng }));
    this.tgc = this.registerModule(
      'tgc',
      new TiedBlockConv2d({ inChannels: 16, outChannels: 16, kernelSize: 3, stride: 2, padding: 1, blocks: 2, groups: 2, bias: false, rng }),
    );
    this.gconv = this.registerModule('gconv', new Conv2d({ inChannels: 16, outChannels: 16, kernelSize: 3, padding: 1, groups: 4, rng }));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d({ numFeatures: 16 }));
    this.gcb = this.registerModule('gcb', new TiedGCB({ channels: 16, ratio: 0.25, blocks: 2, rng }));
    this.se = this.registerModule('se', new TiedSE({ channels: 16, blocks: 2, reduction: 4, rng }));
    this.fc = this.registerModule('fc', new Linear({ inFeatures: 16, outFeatures: fcOut, rng }));
    this.tfc = this.registerModule('tfc', new TiedLinear({ inFeatures: fcOut, outFeatures: 6, blocks: 2, rng }));
  }

  forward(x: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => {
      let y = tf.relu(this.bn1.forward(this.conv1.forward(x)));
      y = tf.relu(this.tbc.forward(y));
      y = this.gconv.forward(this.tgc.forward(y));
      y = tf.relu(this.bn2.forward(y));
      y = this.se.forward(this.gcb.forward(y));
      return this.tfc.forward(tf.relu(this.fc.forward(globalAvgPool(y))));
    });
  }
}

function stateValues(m: Module): Map<string, number[]> {
  return new Map([...m.stateDict()].map(([k, v]) => [k, [...v.dataSync()]]));
}

/** Message of the error `fn` throws ('' when it does not throw). */
function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  return '';
}

/** A copy of `src` with `edit` applied to its (name → tensor) list, written to tmp/`name`. */
function editedCopy(src: string, name: string, edit: (t: Array<[string, SafetensorsInput]>) => Array<[string, SafetensorsInput]>): string {
  const f = readSafetensors(src);
  const list = [...f.tensors].map(
    ([k, t]) => [k, { dtype: t.dtype as SafetensorsInput['dtype'], shape: t.shape, data: t.data }] as [string, SafetensorsInput],
  );
  const path = join(tmp, name);
  writeSafetensors(path, edit(list), f.metadata);
  return path;
}

beforeAll(async () => {
  await setupBackend();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('loadTorchWeights: a network written by PyTorch (official TBC names)', () => {
  it('loads every key, converts layouts and reproduces PyTorch\'s output', () => {
    const before = tf.memory().numTensors;
    const net = new MiniNet(1).eval();
    const report = loadTorchWeights(net, MINI, { mapName: officialTbcNames(net).toTiedet });
    expect(report.file).toBe(MINI);
    expect(report.missingKeys).toEqual([]);
    expect(report.unexpectedKeys).toEqual([]);
    expect(report.mismatchedKeys).toEqual([]);
    expect(report.ignoredKeys).toEqual([]);
    expect(report.metadata).toEqual({ format: 'pt' });
    expect(new Set(report.loadedKeys)).toEqual(new Set(net.stateDict().keys()));
    expect(net.bn1.numBatchesTracked.dtype).toBe('int32');
    expect(net.bn1.numBatchesTracked.dataSync()[0]).toBe(7);
    expect(net.bn2.numBatchesTracked.dataSync()[0]).toBe(11);

    const io = readSafetensors(join(FIXTURES, 'mini_net_io.safetensors'));
    const x = io.tensors.get('x')!;
    const y = io.tensors.get('y')!;
    tf.tidy(() => {
      const out = net.forward(tf.tensor4d(x.data as Float32Array, x.shape as [number, number, number, number]));
      expectClose(out, tf.tensor(y.data as Float32Array, y.shape), { atol: 2e-5, rtol: 1e-4 }, 'mini net logits');
    });
    net.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('conv / linear / LayerNorm layouts land where PyTorch had them', () => {
    const net = new MiniNet(2);
    loadTorchWeights(net, MINI, { mapName: officialTbcNames(net).toTiedet });
    const file = readSafetensors(MINI).tensors;
    // conv1.weight: PyTorch [8, 3, 3, 3] (o, i, kh, kw) → tiedet [3, 3, 3, 8] (kh, kw, i, o)
    const w = file.get('conv1.weight')!.data;
    const t = net.conv1.weight.arraySync() as number[][][][];
    const spots: Array<[number, number, number, number]> = [[0, 0, 0, 0], [7, 2, 1, 0], [3, 1, 2, 2], [5, 0, 0, 1]];
    for (const [o, i, y, x] of spots) {
      expect(t[y]![x]![i]![o]).toBe(w[((o * 3 + i) * 3 + y) * 3 + x]);
    }
    // fc.weight: PyTorch [12, 16] (out, in) → tiedet [16, 12]
    const fw = file.get('fc.weight')!.data;
    const ft = net.fc.weight.arraySync() as number[][];
    expect(ft[5]![11]).toBe(fw[11 * 16 + 5]);
    // TBC shared filter: official tbc.conv.weight [8, 4, 3, 3] → tiedet tbc.weight [3, 3, 4, 8]
    expect(net.tbc.weight.shape).toEqual([3, 3, 4, 8]);
    expect((net.tbc.weight.arraySync() as number[][][][])[2]![1]![3]![6]).toBe(file.get('tbc.conv.weight')!.data[((6 * 4 + 3) * 3 + 2) * 3 + 1]);
    // LayerNorm [4, 1, 1] → [4]
    expect(file.get('gcb.channel_add_conv.1.weight')!.shape).toEqual([4, 1, 1]);
    expect([...net.gcb.channelAddConv.at(1).stateDict().get('weight')!.dataSync()]).toEqual([...file.get('gcb.channel_add_conv.1.weight')!.data]);
    net.dispose();
  });

  it('reads a bfloat16 checkpoint (values rounded to bfloat16)', () => {
    const a = new MiniNet(3);
    const b = new MiniNet(4);
    loadTorchWeights(a, MINI, { mapName: officialTbcNames(a).toTiedet });
    const report = loadTorchWeights(b, join(FIXTURES, 'mini_net_bf16.safetensors'), { mapName: officialTbcNames(b).toTiedet });
    expect(report.missingKeys).toEqual([]);
    const va = stateValues(a);
    for (const [k, vb] of stateValues(b)) {
      const ref = va.get(k)!;
      vb.forEach((v, i) => expect(Math.abs(v - ref[i]!), k).toBeLessThanOrEqual(Math.abs(ref[i]!) * 2 ** -8));
    }
    a.dispose();
    b.dispose();
  });

  it('without the name map, the official names are reported as unexpected and tiedet\'s as missing', () => {
    const net = new MiniNet(5);
    const before = stateValues(net);
    const msg = errorOf(() => loadTorchWeights(net, MINI));
    expect(msg.startsWith(`${MINI}: cannot load into MiniNet:`), msg).toBe(true);
    // the message lists the first six keys of each kind and counts the rest (the error's report has them all)
    expect(msg).toContain(
      'missing 9 key(s): tbc.weight, tbc.bias, tgc.weight, gcb.channel_add_conv.0.weight, gcb.channel_add_conv.0.bias, ' +
        'gcb.channel_add_conv.3.weight, … and 3 more',
    );
    expect(msg).toContain('unexpected 9 key(s): gcb.channel_add_conv.0.conv.bias, gcb.channel_add_conv.0.conv.weight');
    const report = (() => {
      try {
        loadTorchWeights(net, MINI);
      } catch (e) {
        return (e as { report: { missingKeys: string[]; unexpectedKeys: string[] } }).report;
      }
      return null;
    })();
    expect(report?.missingKeys).toHaveLength(9);
    expect(report?.unexpectedKeys).toContain('tfc.linear.weight');
    expect(stateValues(net)).toEqual(before); // nothing written
    net.dispose();
  });
});

describe('saveTorchWeights', () => {
  it('writes the PyTorch file byte for byte (official names, PyTorch layout, int64 counters)', () => {
    const net = new MiniNet(6);
    loadTorchWeights(net, MINI, { mapName: officialTbcNames(net).toTiedet });
    const out = join(tmp, 'mini_saved.safetensors');
    saveTorchWeights(net, out, { mapName: officialTbcNames(net).toTorch });
    expect(readFileSync(out).equals(readFileSync(MINI))).toBe(true);
    net.dispose();
  });

  it('save → load into a fresh module gives identical weights and buffers (tiedet names)', () => {
    const a = new MiniNet(7);
    // make the buffers non-default
    a.bn1.runningVar.assign(tf.fill([8], 2.5));
    a.bn2.numBatchesTracked.assign(tf.scalar(42, 'int32'));
    const path = join(tmp, 'a.safetensors');
    saveTorchWeights(a, path, { metadata: { epoch: '12' } });
    const file = readSafetensors(path);
    expect(file.metadata).toEqual({ epoch: '12', format: 'pt' });
    expect(file.tensors.get('conv1.weight')!.shape).toEqual([8, 3, 3, 3]);
    expect(file.tensors.get('tbc.weight')!.shape).toEqual([8, 4, 3, 3]);
    expect(file.tensors.get('fc.weight')!.shape).toEqual([12, 16]);
    expect(file.tensors.get('gcb.channel_add_conv.1.weight')!.shape).toEqual([4, 1, 1]);
    expect(file.tensors.get('bn2.num_batches_tracked')).toMatchObject({ dtype: 'I64', shape: [] });

    const b = new MiniNet(8);
    expect(stateValues(b)).not.toEqual(stateValues(a));
    const report = loadTorchWeights(b, path);
    expect(report.loadedKeys.length).toBe(a.stateDict().size);
    expect(stateValues(b)).toEqual(stateValues(a));
    expect(b.bn2.numBatchesTracked.dtype).toBe('int32');
    a.dispose();
    b.dispose();
  });
});

describe('loadTorchWeights: mismatches and the strict:false report', () => {
  it('a shape mismatch names the key with both shapes in PyTorch layout; strict:false skips it and loads the rest', () => {
    const net = new MiniNet(9, { fcOut: 10 });
    const before = stateValues(net);
    const map = officialTbcNames(net).toTiedet;
    const msg = errorOf(() => loadTorchWeights(net, MINI, { mapName: map }));
    expect(msg).toContain(MINI);
    expect(msg).toContain(
      'size mismatch for 3 key(s) (PyTorch layout):\n' +
        '    fc.weight: file [12, 16], module [10, 16]\n' +
        '    fc.bias: file [12], module [10]\n' +
        '    tfc.linear.weight → tfc.weight: file [3, 6], module [3, 5]',
    );
    expect(stateValues(net)).toEqual(before);

    const report = loadTorchWeights(net, MINI, { mapName: map, strict: false });
    expect(report.mismatchedKeys.map((m) => m.key)).toEqual(['fc.weight', 'fc.bias', 'tfc.weight']);
    expect(report.mismatchedKeys[0]).toEqual({ key: 'fc.weight', fileKey: 'fc.weight', fileShape: [12, 16], expectedShape: [10, 16] });
    expect(report.missingKeys).toEqual([]);
    expect(report.unexpectedKeys).toEqual([]);
    expect(report.loadedKeys).not.toContain('fc.weight');
    const after = stateValues(net);
    expect(after.get('fc.weight')).toEqual(before.get('fc.weight'));
    expect(after.get('conv1.weight')).not.toEqual(before.get('conv1.weight'));
    expect(after.get('bn1.num_batches_tracked')).toEqual([7]);
    net.dispose();
  });

  it('missing and unexpected keys are listed; strict:false returns them; null from mapName ignores a key', () => {
    const path = editedCopy(MINI, 'edited.safetensors', (list) => [
      ...list.filter(([k]) => k !== 'bn2.running_mean' && k !== 'bn1.num_batches_tracked'),
      ['extra.weight', { dtype: 'F32', shape: [2], data: [1, 2] }],
    ]);
    const net = new MiniNet(10);
    const tbc = officialTbcNames(net).toTiedet;
    const msg = errorOf(() => loadTorchWeights(net, path, { mapName: tbc }));
    expect(msg).toContain(path);
    expect(msg).toContain('missing 1 key(s): bn2.running_mean'); // num_batches_tracked is optional, as in PyTorch
    expect(msg).toContain('unexpected 1 key(s): extra.weight');

    const report = loadTorchWeights(net, path, { mapName: tbc, strict: false });
    expect(report.missingKeys).toEqual(['bn2.running_mean']);
    expect(report.unexpectedKeys).toEqual(['extra.weight']);
    expect(report.loadedKeys.length).toBe(net.stateDict().size - 2);

    const ignoring = loadTorchWeights(net, path, { mapName: (k) => (k.startsWith('extra.') ? null : tbc(k)), strict: false });
    expect(ignoring.ignoredKeys).toEqual(['extra.weight']);
    expect(ignoring.unexpectedKeys).toEqual([]);
    net.dispose();
  });

  it('a LayerNorm saved as [P] loads too; two keys mapped to one name is an error', () => {
    const path = editedCopy(MINI, 'ln.safetensors', (list) =>
      list.map(([k, t]) => (k.startsWith('gcb.channel_add_conv.1.') ? [k, { ...t, shape: [4] }] : [k, t])),
    );
    const net = new MiniNet(11);
    const map = officialTbcNames(net).toTiedet;
    expect(loadTorchWeights(net, path, { mapName: map }).mismatchedKeys).toEqual([]);
    expect(errorOf(() => loadTorchWeights(net, MINI, { mapName: (k) => (k === 'tbc.conv.weight' ? 'conv1.weight' : map(k)) }))).toMatch(
      /both map to "conv1.weight"/,
    );
    net.dispose();
  });

  it('reports what it could not parse with the file name', () => {
    const net = new MiniNet(12);
    const missing = join(tmp, 'absent.safetensors');
    expect(errorOf(() => loadTorchWeights(net, missing))).toContain(missing);
    net.dispose();
  });
});

describe('layout rules', () => {
  it('are decided by the owning module class, not by names', () => {
    const net = new MiniNet(13);
    const state = describeState(net);
    expect(state.get('conv1.weight')!.layout).toBe('conv');
    expect(state.get('tbc.weight')!.layout).toBe('conv');
    expect(state.get('gcb.conv_mask.weight')!.layout).toBe('conv');
    expect(state.get('fc.weight')!.layout).toBe('linear');
    expect(state.get('se.fc.0.weight')!.layout).toBe('linear');
    expect(state.get('gcb.channel_add_conv.1.weight')!.layout).toBe('layernorm');
    expect(state.get('bn1.weight')!.layout).toBe('same');
    expect(state.get('bn1.num_batches_tracked')!.optional).toBe(true);
    expect(state.get('bn1.running_mean')!.optional).toBe(false);
    expect(torchShape(state.get('tgc.weight')!)).toEqual([8, 4, 3, 3]);
    net.dispose();
  });

  it('conv and linear permutations agree with tf.transpose and invert each other', () => {
    const net = new MiniNet(14);
    const state = describeState(net);
    for (const key of ['conv1.weight', 'gconv.weight', 'fc.weight']) {
      const e = state.get(key)!;
      const tiedet = e.variable.dataSync() as Float32Array;
      const torch = toTorchLayout(e, tiedet);
      const perm = e.variable.rank === 4 ? [3, 2, 0, 1] : [1, 0];
      expect([...torch], key).toEqual([...tf.tidy(() => tf.transpose(e.variable, perm).dataSync())]);
      expect([...toTiedetLayout(e, torch)], key).toEqual([...tiedet]);
    }
    net.dispose();
  });

  it('a rank ≥ 2 entry of an unknown module needs a rule; TorchLayoutProvider supplies one', () => {
    class Odd extends Module {
      constructor() {
        super();
        this.registerParameter('table', tf.zeros([2, 3]));
      }
    }
    class Holder extends Module {
      constructor() {
        super();
        this.registerModule('odd', new Odd());
      }
    }
    const m = new Holder();
    expect(errorOf(() => saveTorchWeights(m, join(tmp, 'odd.safetensors')))).toContain(
      'no PyTorch layout rule for "odd.table" (a rank-2 parameter of Odd)',
    );
    const oddFile = join(tmp, 'odd-in.safetensors');
    writeSafetensors(oddFile, [['odd.table', { dtype: 'F32', shape: [3, 2], data: [1, 2, 3, 4, 5, 6] }]]);
    const loadMsg = errorOf(() => loadTorchWeights(m, oddFile));
    expect(loadMsg.startsWith(`${oddFile}: no PyTorch layout rule for "odd.table"`), loadMsg).toBe(true);
    class Declared extends Odd {
      torchLayout(name: string) {
        return name === 'table' ? ('linear' as const) : undefined;
      }
    }
    const d = new Declared();
    const p = join(tmp, 'declared.safetensors');
    saveTorchWeights(d, p);
    expect(readSafetensors(p).tensors.get('table')!.shape).toEqual([3, 2]);
    m.dispose();
    d.dispose();
  });

  it('officialTbcNames renames only real TBC / TFC paths', () => {
    const net = new MiniNet(15);
    const { toTiedet, toTorch } = officialTbcNames(net);
    expect(toTiedet('tbc.conv.weight')).toBe('tbc.weight');
    expect(toTiedet('gcb.channel_add_conv.3.conv.bias')).toBe('gcb.channel_add_conv.3.bias');
    expect(toTiedet('tfc.linear.weight')).toBe('tfc.weight');
    expect(toTiedet('gconv.weight')).toBe('gconv.weight');
    expect(toTiedet('fc.linear.weight')).toBe('fc.linear.weight'); // fc is a plain Linear
    expect(toTiedet('tbc.linear.weight')).toBe('tbc.linear.weight'); // wrong wrapper for a TBC
    expect(toTorch('tbc.weight')).toBe('tbc.conv.weight');
    expect(toTorch('tfc.bias')).toBe('tfc.linear.bias');
    expect(toTorch('se.fc.0.weight')).toBe('se.fc.0.weight'); // official TiedSE uses plain nn.Linear
    expect(toTorch('bn1.running_mean')).toBe('bn1.running_mean');
    net.dispose();
  });

  it('dropClassifier ignores torchvision\'s fc.* when loading into a headless backbone', () => {
    const net = new MiniNet(16);
    const tbc = officialTbcNames(net).toTiedet;
    const report = loadTorchWeights(net, MINI, { mapName: (k) => (dropClassifier(k) === null ? null : tbc(k)), strict: false });
    expect(report.ignoredKeys).toEqual(['fc.bias', 'fc.weight']);
    expect(report.missingKeys).toEqual(['fc.weight', 'fc.bias']);
    expect(dropClassifier('layer4.2.bn3.weight')).toBe('layer4.2.bn3.weight');
    net.dispose();
  });
});
