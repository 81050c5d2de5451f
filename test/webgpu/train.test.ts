/**
 * tiedet on webgpu (SwiftShader in CI; test/helpers/webgpu.ts): engine selection and its errors, a short "it
 * learns" run of a tiny RetinaNet with `tf.memory()` (tensors and bytes) flat over the steps, GPU faults named with
 * the batch and input size, and `tiedet train` + `tiedet test` end to end with `--backend webgpu`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RetinaNet } from '../../detectors/retinanet/retinanet.js';
import { tiedResNetTiny } from '../../src/backbones/presets.js';
import { initEngine } from '../../src/engine/index.js';
import { clearWebgpuFault, injectWebgpuFault } from '../../src/engine/webgpu.js';
import { assertDeviceHealthy, DeviceFaultError } from '../../src/train/device-fault.js';
import { SGD } from '../../src/train/sgd.js';
import { toyScenes } from '../detectors/toy-scenes.js';
import { webgpuForTests } from '../helpers/webgpu.js';
import { runCli } from '../tools/run-cli.js';
import { tinyFixture, type TinyFixture } from '../tools/train-fixture.js';

const gpu = await webgpuForTests();

describe('asking for webgpu without an adapter', () => {
  it('is one line saying why and what to install, exit ≠ 0', () => {
    const r = runCli(['info', '--backend', 'webgpu'], { VK_ICD_FILENAMES: '/nonexistent/icd.json', VK_DRIVER_FILES: '' });
    expect(r.code).not.toBe(0);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('tiedet: '));
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/webgpu: .*(no GPU adapter|not installed|no Vulkan).*to use it: .*(libvulkan1|npm install)/);
  });
});

describe.skipIf(!gpu.available)('webgpu backend', () => {
  beforeAll(async () => {
    await initEngine({ backend: 'webgpu' });
  });

  it('reports the adapter and its limits; auto skips a software adapter', async () => {
    const info = await initEngine({ backend: 'webgpu' });
    expect(info.backend).toBe('webgpu');
    const a = info.webgpu.adapter!;
    expect(a.maxBufferSize).toBeGreaterThan(0);
    expect(a.maxStorageBufferBindingSize).toBeGreaterThan(0);
    console.info(`webgpu adapter: ${a.vendor} / ${a.architecture} / ${a.description} (software: ${a.software})`);
    if (a.software) {
      const r = runCli(['info', '--json'], { VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES ?? '' });
      expect(r.code, r.stderr).toBe(0);
      const auto = JSON.parse(r.stdout) as { backend: string; fallbacks: { backend: string; reason: string }[] };
      expect(auto.backend).not.toBe('webgpu');
      expect(auto.fallbacks.find((f) => f.backend === 'webgpu')?.reason).toMatch(/software adapter skipped/);
    }
  });

  it('a GPU fault during a step names the iteration, the batch and the input size', () => {
    const batch = { images: tf.zeros([2, 64, 96, 3]) };
    try {
      injectWebgpuFault('GPU out of memory: Buffer allocation failed');
      expect(() => assertDeviceHealthy(batch, 7)).toThrow(DeviceFaultError);
      expect(() => assertDeviceHealthy(batch, 7)).toThrow(/iteration 7 on a batch of 2 images of 96×64 .*out of memory.*last checkpoint is intact/);
    } finally {
      clearWebgpuFault();
      batch.images.dispose();
    }
  });

  it('a tiny RetinaNet learns over a few steps with tf.memory() (tensors and bytes) flat', { timeout: 600_000 }, async () => {
    await initEngine({ backend: 'webgpu' });
    const scenes = toyScenes({ count: 2, size: 64, scale: 0.5, seed: 7, objects: [1, 3], sides: [24, 44] });
    const model = new RetinaNet({
      backbone: tiedResNetTiny({ seed: 1, numClasses: null, frozenStages: -1, normEval: false }),
      config: { numClasses: 3, model: { neck: { outChannels: 16 }, head: { featChannels: 16, stackedConvs: 2, initStd: 0.05 } } },
      seed: 2,
    });
    model.train();
    const sgd = new SGD(model.namedParameters({ trainableOnly: true }), { lr: 0.01, momentum: 0.9, weightDecay: 1e-4 });
    const losses: number[] = [];
    const mem: { numTensors: number; numBytes: number }[] = [];
    const seconds: number[] = [];
    try {
      for (let step = 0; step < 4; step++) {
        const t = performance.now();
        const { value, grads } = tf.variableGrads(() => {
          const l = model.loss(scenes.batch);
          return tf.add(l.loss_cls, l.loss_bbox) as tf.Scalar;
        }, model.trainableVariables());
        sgd.step(grads);
        losses.push((await value.data())[0]!);
        tf.dispose([value, ...Object.values(grads)]);
        seconds.push((performance.now() - t) / 1000);
        const m = tf.memory();
        mem.push({ numTensors: m.numTensors, numBytes: m.numBytes });
      }
      console.info(`webgpu learns: loss ${losses.map((l) => l.toFixed(3)).join(' → ')}; step seconds ${seconds.map((s) => s.toFixed(1)).join(', ')}; memory ${JSON.stringify(mem)}`);
      expect(losses.every(Number.isFinite)).toBe(true);
      expect(losses.at(-1)!).toBeLessThan(0.95 * losses[0]!);
      expect(new Set(mem.slice(1).map((m) => m.numTensors)).size, 'tensors over the steps').toBe(1);
      expect(new Set(mem.slice(1).map((m) => m.numBytes)).size, 'bytes over the steps').toBe(1);
      model.eval();
      const dets = await model.predictAsync(scenes.batch);
      expect(dets).toHaveLength(2);
      expect(tf.memory().numTensors - model.numDerivedTensors()).toBe(mem.at(-1)!.numTensors);
    } finally {
      sgd.dispose();
      tf.dispose(scenes.batch.images);
      model.dispose();
    }
  });

  describe('tiedet train + tiedet test --backend webgpu', () => {
    let fx: TinyFixture;
    beforeAll(async () => {
      fx = await tinyFixture(['train.epochs=1', 'train.milestones=[]', 'train.evalEveryEpochs=1', 'data.batchSize=2']);
    });
    afterAll(() => fx?.cleanup());

    it('trains two iterations (checkpoint written) and tests the checkpoint (COCO results)', { timeout: 1_200_000 }, () => {
      const work = join(fx.dir, 'run');
      const CONFIG = 'retinanet_tiedresnet_synthetic_tiny';
      const a = runCli(['train', CONFIG, '--backend', 'webgpu', '--work-dir', work, '--max-iters', '2', '--cfg-options', ...fx.cfgOptions], {}, 600_000);
      expect(a.code, a.stderr).toBe(0);
      expect(a.stderr).toContain('on webgpu');
      expect(a.stdout).toContain('train stopped after --max-iters 2');
      expect(existsSync(join(work, 'iter_2.json'))).toBe(true);
      const out = join(fx.dir, 'results.json');
      const c = runCli(['test', CONFIG, work, '--backend', 'webgpu', '--out', out, '--eval', 'bbox', '--cfg-options', ...fx.cfgOptions, 'test.scoreThr=0'], {}, 600_000);
      expect(c.code, c.stderr).toBe(0);
      expect(c.stdout).toMatch(/wrote \d+ detections on 4 images/);
      console.info(`webgpu CLI: train ${(a.ms / 1000).toFixed(1)} s, test ${(c.ms / 1000).toFixed(1)} s`);
    });
  });
});

// without an adapter (outside CI) the file reports one skipped entry that says why; with one, nothing extra
if (!gpu.available) it.skip(`webgpu training: no WebGPU adapter (${gpu.reason})`, () => {});
