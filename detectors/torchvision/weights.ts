/**
 * torchvision detection checkpoints → tiedet's torchvision presets: the state-dict key map (both the names
 * torchvision 0.14 writes and the pre-0.13 names of the published COCO checkpoints, which torchvision itself
 * upgrades in `_load_from_state_dict`) and the row changes of the class layers, in one place.
 *
 *   backbone.body.X                                → backbone.X
 *   backbone.fpn.inner_blocks.i[.0].{w,b}          → neck.lateral_convs.i.conv.{w,b}
 *   backbone.fpn.layer_blocks.i[.0].{w,b}          → neck.fpn_convs.i.conv.{w,b}
 *   backbone.fpn.extra_blocks.p6 / p7              → neck.fpn_convs.3 / 4 .conv (RetinaNet)
 *   rpn.head.conv[.0.0] / cls_logits / bbox_pred   → rpn_head.rpn_conv / rpn_cls / rpn_reg
 *   roi_heads.box_head.fc6 / fc7                   → roi_head.bbox_head.shared_fcs.0 / 1
 *   roi_heads.box_predictor.cls_score              → roi_head.bbox_head.fc_cls   rows [1…90, 0] (background last)
 *   roi_heads.box_predictor.bbox_pred              → roi_head.bbox_head.fc_reg   rows 4… (background's 4 dropped)
 *   roi_heads.mask_head.i.0 | mask_fcn{i+1}        → roi_head.mask_head.convs.i.conv
 *   roi_heads.mask_predictor.conv5_mask            → roi_head.mask_head.upsample
 *   roi_heads.mask_predictor.mask_fcn_logits       → roi_head.mask_head.conv_logits  rows 1…90 (background dropped)
 *   head.classification_head.conv.i.0 | conv.(2i)  → bbox_head.cls_convs.i.conv  (regression: reg_convs)
 *   head.classification_head.cls_logits            → bbox_head.retina_cls  (91 classes kept)
 *   head.regression_head.bbox_reg                  → bbox_head.retina_reg
 *
 * `loadDetectorWeights(model, file)` is the one entry point (the CLI's `--weights`): reads the file with
 * src/io/weights-file.ts, maps and loads strictly (src/io/torch-weights.ts `loadTorchState`; errors name the file
 * and keys). A Faster R-CNN preset accepts a Mask R-CNN checkpoint (its mask keys are ignored).
 */
import type { SafetensorsTensor } from '../../src/io/safetensors.js';
import { loadTorchState, type WeightsReport } from '../../src/io/torch-weights.js';
import { readWeightsFile, type WeightsFile } from '../../src/io/weights-file.js';
import type { Module } from '../../src/nn/module.js';

type RowOp = { rows: (n: number) => number[] };

interface Mapped {
  key: string | null;
  op?: RowOp;
}

const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);
const bgLast: RowOp = { rows: (n) => [...range(1, n), 0] };
const dropBgBox: RowOp = { rows: (n) => range(4, n) };
const dropBg: RowOp = { rows: (n) => range(1, n) };


/** One torchvision key → the tiedet key (null: not part of the model) and an optional row selection. */
export function mapTorchvisionKey(key: string, opts: { masks: boolean } = { masks: true }): Mapped {
  let m: RegExpExecArray | null;
  if ((m = /^backbone\.body\.(.+)$/.exec(key))) return { key: `backbone.${m[1]}` };
  if ((m = /^backbone\.fpn\.inner_blocks\.(\d+)\.(?:0\.)?(weight|bias)$/.exec(key))) return { key: `neck.lateral_convs.${m[1]}.conv.${m[2]}` };
  if ((m = /^backbone\.fpn\.layer_blocks\.(\d+)\.(?:0\.)?(weight|bias)$/.exec(key))) return { key: `neck.fpn_convs.${m[1]}.conv.${m[2]}` };
  if ((m = /^backbone\.fpn\.extra_blocks\.p([67])\.(weight|bias)$/.exec(key))) return { key: `neck.fpn_convs.${Number(m[1]) - 3}.conv.${m[2]}` };
  if ((m = /^rpn\.head\.conv\.(?:0\.0\.)?(weight|bias)$/.exec(key))) return { key: `rpn_head.rpn_conv.${m[1]}` };
  if ((m = /^rpn\.head\.cls_logits\.(weight|bias)$/.exec(key))) return { key: `rpn_head.rpn_cls.${m[1]}` };
  if ((m = /^rpn\.head\.bbox_pred\.(weight|bias)$/.exec(key))) return { key: `rpn_head.rpn_reg.${m[1]}` };
  if ((m = /^roi_heads\.box_head\.fc([67])\.(weight|bias)$/.exec(key))) return { key: `roi_head.bbox_head.shared_fcs.${Number(m[1]) - 6}.${m[2]}` };
  if ((m = /^roi_heads\.box_predictor\.cls_score\.(weight|bias)$/.exec(key))) return { key: `roi_head.bbox_head.fc_cls.${m[1]}`, op: bgLast };
  if ((m = /^roi_heads\.box_predictor\.bbox_pred\.(weight|bias)$/.exec(key))) return { key: `roi_head.bbox_head.fc_reg.${m[1]}`, op: dropBgBox };
  if (/^roi_heads\.mask_(head|predictor)\./.test(key) && !opts.masks) return { key: null };
  if ((m = /^roi_heads\.mask_head\.(\d+)\.0\.(weight|bias)$/.exec(key))) return { key: `roi_head.mask_head.convs.${m[1]}.conv.${m[2]}` };
  if ((m = /^roi_heads\.mask_head\.mask_fcn(\d+)\.(weight|bias)$/.exec(key))) return { key: `roi_head.mask_head.convs.${Number(m[1]) - 1}.conv.${m[2]}` };
  if ((m = /^roi_heads\.mask_predictor\.conv5_mask\.(weight|bias)$/.exec(key))) return { key: `roi_head.mask_head.upsample.${m[1]}` };
  if ((m = /^roi_heads\.mask_predictor\.mask_fcn_logits\.(weight|bias)$/.exec(key))) return { key: `roi_head.mask_head.conv_logits.${m[1]}`, op: dropBg };
  if ((m = /^head\.(classification|regression)_head\.conv\.(\d+)\.(?:0\.)?(weight|bias)$/.exec(key))) {
    const branch = m[1] === 'classification' ? 'cls_convs' : 'reg_convs';
    const i = Number(m[2]);
    // 0.14: conv.i.0 (Conv2dNormActivation); ≤ 0.12: conv.(2i) with the ReLUs at odd indices
    const idx = key.includes(`.conv.${i}.0.`) ? i : i / 2;
    return { key: Number.isInteger(idx) ? `bbox_head.${branch}.${idx}.conv.${m[3]}` : key };
  }
  if ((m = /^head\.classification_head\.cls_logits\.(weight|bias)$/.exec(key))) return { key: `bbox_head.retina_cls.${m[1]}` };
  if ((m = /^head\.regression_head\.bbox_reg\.(weight|bias)$/.exec(key))) return { key: `bbox_head.retina_reg.${m[1]}` };
  return { key };
}

function selectRows(t: SafetensorsTensor, rows: number[]): SafetensorsTensor {
  const n = t.shape[0]!;
  const len = t.data.length / n;
  const Ctor = t.data.constructor as new (n: number) => typeof t.data;
  const out = new Ctor(rows.length * len);
  rows.forEach((r, i) => out.set(t.data.subarray(r * len, (r + 1) * len), i * len));
  return { dtype: t.dtype, shape: [rows.length, ...t.shape.slice(1)], data: out };
}

/**
 * A torchvision state with the class rows changed where tiedet's layout differs (keys kept, so reports and
 * errors name the checkpoint's keys; `mapTorchvisionKey` renames them while loading).
 */
export function torchvisionRows(file: WeightsFile, opts: { masks: boolean }): WeightsFile {
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [k, t] of file.tensors) {
    const op = mapTorchvisionKey(k, opts).op;
    tensors.set(k, op ? selectRows(t, op.rows(t.shape[0]!)) : t);
  }
  return { tensors, metadata: file.metadata };
}

/** Load a torchvision detection checkpoint into a torchvision preset (strict; see the file comment). */
export function loadDetectorWeights(model: Module & { config: { kind: string; masks?: boolean } }, path: string): WeightsReport {
  const masks = model.config.kind === 'retinanet' || model.config.masks !== false;
  const file = torchvisionRows(readWeightsFile(path), { masks });
  return loadTorchState(model, { file: path, ...file }, { mapName: (k) => mapTorchvisionKey(k, { masks }).key });
}
