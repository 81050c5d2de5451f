/**
 * mmdetection checkpoint keys → tiedet keys, and what an mmdetection checkpoint says about itself.
 *
 * tiedet's detectors name their state like mmdetection's modules do (checked against mmdetection 2.x and 3.x
 * sources): `backbone.*` (torchvision ResNet names, mmdet's `ResNet`), `neck.lateral_convs.i.conv.*` /
 * `neck.fpn_convs.i.conv.*` (FPN, ConvModule's `.conv`), RetinaNet `bbox_head.{cls,reg}_convs.i.conv.*`,
 * `bbox_head.retina_{cls,reg}.*`, Mask R-CNN `rpn_head.rpn_{conv,cls,reg}.*`, `roi_head.bbox_head.shared_fcs.i.*`,
 * `roi_head.bbox_head.fc_{cls,reg}.*`, `roi_head.mask_head.convs.i.conv.*`, `roi_head.mask_head.upsample.*`,
 * `roi_head.mask_head.conv_logits.*`. Those names are the same in 2.x and 3.x for these detectors (3.x's
 * `RPNHead` keeps `rpn_conv` for num_convs = 1; `Shared2FCBBoxHead` keeps `shared_fcs` / `fc_cls` / `fc_reg`;
 * `FCNMaskHead` keeps `convs` / `upsample` / `conv_logits`), so the map is the identity except:
 *   - `module.` prefixes (a model saved inside DistributedDataParallel) are stripped, as mmcv's and mmengine's
 *     `load_checkpoint` do (`revise_keys=[(r'^module\.', '')]`);
 *   - 3.x `data_preprocessor.*` entries (normally non-persistent, so absent) are ignored.
 * What differs between 2.x and 3.x is the checkpoint around the state dict: 2.x (mmcv `save_checkpoint`) has
 * `meta = {mmdet_version, CLASSES, config, epoch, iter, hook_msgs}`; 3.x (mmengine) has `meta = {mmengine_version,
 * dataset_meta: {classes, palette}, cfg, epoch, iter, seed, …}` plus `message_hub` and `param_schedulers`
 * (mmengine objects, kept opaque). `mmdetCheckpointInfo` reads both.
 * mmdetection 1.x checkpoints (two-stage heads at the top level: `bbox_head.*` / `mask_head.*` instead of
 * `roi_head.*`, background as class 0) need mmdetection's own upgrade script; `checkNotMmdet1` says so.
 */
import type { Module } from '../nn/module.js';
import type { LoadNameMap } from './torch-layout.js';

/** The mmdetection name map (see the file comment). */
export const mmdetNames: LoadNameMap = (key) => {
  const k = key.startsWith('module.') ? key.slice('module.'.length) : key;
  if (k.startsWith('data_preprocessor.')) return null;
  return k;
};

export interface MmdetCheckpointInfo {
  /** 'mmdet 2.28.2', 'mmengine 0.10.3', or null when the checkpoint says nothing. */
  version: string | null;
  /** Class names (2.x `meta.CLASSES`, 3.x `meta.dataset_meta.classes`), or null. */
  classes: string[] | null;
}

const get = (m: unknown, k: string): unknown => (m instanceof Map ? m.get(k) : undefined);
const strings = (v: unknown): string[] | null => (Array.isArray(v) && v.every((s) => typeof s === 'string') ? [...(v as string[])] : null);

/** Version and classes from an mmdetection checkpoint's `meta` (as read by pth.ts: a Map). */
export function mmdetCheckpointInfo(meta: unknown): MmdetCheckpointInfo {
  const mmdet = get(meta, 'mmdet_version');
  const mmengine = get(meta, 'mmengine_version');
  const version = typeof mmdet === 'string' ? `mmdet ${mmdet}` : typeof mmengine === 'string' ? `mmengine ${mmengine}` : null;
  const classes = strings(get(meta, 'CLASSES')) ?? strings(get(get(meta, 'dataset_meta'), 'classes'));
  return { version, classes };
}

/**
 * An mmdetection 1.x two-stage checkpoint (heads not under `roi_head.`) cannot be loaded by renaming alone (1.x
 * puts the background class first and regresses it too): the error names the file, a key and the fix.
 */
export function checkNotMmdet1(file: string, keys: Iterable<string>, module: Module): void {
  const hasRoiHead = [...module.namedModules()].some(([p]) => p === 'roi_head');
  if (!hasRoiHead) return;
  let old: string | null = null;
  for (const raw of keys) {
    const k = raw.startsWith('module.') ? raw.slice(7) : raw;
    if (k.startsWith('roi_head.')) return;
    if (old === null && /^(bbox_head\.(fc_cls|fc_reg|shared_fcs|cls_convs?|reg_convs?|fc_)|mask_head\.)/.test(k) && !/^bbox_head\.(cls|reg)_convs\.\d+\.conv\./.test(k)) old = raw;
  }
  if (old !== null) {
    throw new Error(
      `${file}: "${old}": an mmdetection 1.x checkpoint (two-stage heads outside roi_head, background class first); ` +
        'upgrade it with mmdetection 2.x: python tools/model_converters/upgrade_model_version.py IN OUT',
    );
  }
}
