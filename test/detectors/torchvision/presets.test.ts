/**
 * The full-size torchvision presets' structure: every key of torchvision 0.14's `maskrcnn_resnet50_fpn`,
 * `fasterrcnn_resnet50_fpn` and `retinanet_resnet50_fpn` state dicts (test/fixtures/torchvision/keys_r50.json)
 * maps onto a tiedet parameter of the preset with the matching PyTorch shape (after the class-row changes), and
 * every tiedet parameter receives one; the pre-0.13 key names of the published checkpoints map to the same keys.
 * Also: the semantics tables (anchors, resize) on known values, and load errors naming file and keys.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fasterrcnnResnet50Fpn, maskrcnnResnet50Fpn, retinanetResnet50Fpn, smallVariant, type TvDetectorConfig } from '../../../detectors/torchvision/config.js';
import { tvBaseAnchors } from '../../../detectors/torchvision/anchors.js';
import { COCO_V1_CATEGORIES, cocoCategories } from '../../../detectors/torchvision/labels.js';
import { TvRCNN } from '../../../detectors/torchvision/rcnn.js';
import { TvRetinaNet } from '../../../detectors/torchvision/retinanet.js';
import { tvResizedSize } from '../../../detectors/torchvision/transform.js';
import { loadDetectorWeights, mapTorchvisionKey } from '../../../detectors/torchvision/weights.js';
import { writeSafetensors } from '../../../src/io/safetensors.js';
import { describeState, torchShape } from '../../../src/io/torch-layout.js';
import { trackTensors } from '../../nn/helpers.js';
import { FIXTURE } from './parity-helpers.js';

trackTensors('test');

const keys = JSON.parse(readFileSync(join(FIXTURE, 'keys_r50.json'), 'utf8')) as Record<string, [string, number[]][]>;

function build(cfg: TvDetectorConfig): TvRCNN | TvRetinaNet {
  return cfg.kind === 'rcnn' ? new TvRCNN(cfg) : new TvRetinaNet(cfg);
}

const ROWS: Record<string, (s: number[]) => number[]> = {
  'roi_head.bbox_head.fc_reg': (s) => [s[0]! - 4, ...s.slice(1)],
  'roi_head.mask_head.conv_logits': (s) => [s[0]! - 1, ...s.slice(1)],
};

describe('full-size presets: torchvision state-dict keys and shapes', () => {
  for (const [name, make] of [
    ['maskrcnn_resnet50_fpn', maskrcnnResnet50Fpn],
    ['fasterrcnn_resnet50_fpn', fasterrcnnResnet50Fpn],
    ['retinanet_resnet50_fpn', retinanetResnet50Fpn],
  ] as const) {
    it(name, () => {
      const model = build(make());
      try {
        const state = describeState(model);
        const seen = new Set<string>();
        for (const [k, shape] of keys[name]!) {
          const m = mapTorchvisionKey(k, { masks: true });
          expect(m.key, k).not.toBeNull();
          const entry = state.get(m.key!);
          expect(entry, `${k} → ${m.key}`).toBeDefined();
          const rule = Object.entries(ROWS).find(([p]) => m.key!.startsWith(p));
          expect(torchShape(entry!), k).toEqual(rule ? rule[1](shape) : shape);
          seen.add(m.key!);
        }
        const missing = [...state.entries()].filter(([k, e]) => !seen.has(k) && !e.optional).map(([k]) => k);
        expect(missing).toEqual([]);
      } finally {
        model.dispose();
      }
    });
  }

  it('maps the pre-0.13 names of the published checkpoints', () => {
    expect(mapTorchvisionKey('backbone.fpn.inner_blocks.2.weight').key).toBe('neck.lateral_convs.2.conv.weight');
    expect(mapTorchvisionKey('backbone.fpn.layer_blocks.0.bias').key).toBe('neck.fpn_convs.0.conv.bias');
    expect(mapTorchvisionKey('rpn.head.conv.weight').key).toBe('rpn_head.rpn_conv.weight');
    expect(mapTorchvisionKey('roi_heads.mask_head.mask_fcn3.weight').key).toBe('roi_head.mask_head.convs.2.conv.weight');
    expect(mapTorchvisionKey('head.classification_head.conv.6.weight').key).toBe('bbox_head.cls_convs.3.conv.weight');
    expect(mapTorchvisionKey('head.regression_head.conv.2.bias').key).toBe('bbox_head.reg_convs.1.conv.bias');
    expect(mapTorchvisionKey('head.regression_head.conv.2.0.bias').key).toBe('bbox_head.reg_convs.2.conv.bias');
    expect(mapTorchvisionKey('roi_heads.mask_predictor.conv5_mask.weight', { masks: false }).key).toBeNull();
  });
});

describe('torchvision semantics tables', () => {
  it('rounded base anchors (AnchorGenerator.generate_anchors)', () => {
    expect(Array.from(tvBaseAnchors([32], [0.5, 1, 2]))).toEqual([-23, -11, 23, 11, -16, -16, 16, 16, -11, -23, 11, 23]);
    const sizes = retinanetResnet50Fpn().anchorSizes;
    expect(sizes[0]).toEqual([32, 40, 50]);
    expect(sizes[4]).toEqual([512, 645, 812]);
  });

  it('resize sizes as torch computes them (float / float32 tensor = reciprocal · float)', () => {
    expect(tvResizedSize(200, 200, { minSize: 320, maxSize: 480 })).toEqual([319, 319]);
    expect(tvResizedSize(480, 640, { minSize: 800, maxSize: 1333 })).toEqual([800, 1066]);
    expect(tvResizedSize(427, 640, { minSize: 800, maxSize: 1333 })).toEqual([799, 1199]);
  });

  it('labels are COCO category ids', () => {
    expect(COCO_V1_CATEGORIES).toHaveLength(91);
    expect(COCO_V1_CATEGORIES[1]).toBe('person');
    expect(COCO_V1_CATEGORIES[90]).toBe('toothbrush');
    expect(cocoCategories()).toHaveLength(80);
  });
});

describe('loadDetectorWeights errors', () => {
  it('names the file and the first keys; the format is read from the content, not the name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tv-weights-'));
    const model = new TvRetinaNet(smallVariant(retinanetResnet50Fpn()));
    try {
      const f = join(dir, 'bad.safetensors');
      writeSafetensors(f, [['head.regression_head.bbox_reg.bias', { dtype: 'F32', shape: [5], data: new Float32Array(5) }]]);
      expect(() => loadDetectorWeights(model, f)).toThrow(/bad\.safetensors: cannot load into TvRetinaNet:\n  size mismatch for 1 key\(s\)[^]*head\.regression_head\.bbox_reg\.bias → bbox_head\.retina_reg\.bias: file \[5\], module \[36\]\n  missing 115 key\(s\): backbone\.conv1\.weight/);
      expect(() => loadDetectorWeights(model, join(dir, 'x.pth'))).toThrow(/x\.pth: no such weights file/);
      // a safetensors file named .pth is read as what it is; the error lists the first keys and the count of the rest
      const pth = join(dir, 'y.pth');
      writeSafetensors(pth, []);
      expect(() => loadDetectorWeights(model, pth)).toThrow(/y\.pth: cannot load into TvRetinaNet:\n  missing 116 key\(s\): backbone\.conv1\.weight, [^\n]*… and 110 more\n/);
    } finally {
      model.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
