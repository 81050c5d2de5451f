/**
 * torchvision's COCO label space (`torchvision.models._meta._COCO_CATEGORIES` / `COCO_V1_CATEGORIES`):
 * 91 entries, index = label = COCO `category_id`; 0 is the background and the 11 ids COCO never used are "N/A".
 * torchvision's detectors predict these labels directly, so results need no mapping: `category_id = label`.
 * (mmdetection instead predicts 80 contiguous labels; its `label → category_id` is `COCO_CATEGORY_IDS[label]`.)
 */
export const COCO_V1_CATEGORIES: readonly string[] = [
  '__background__', 'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat',
  'traffic light', 'fire hydrant', 'N/A', 'stop sign', 'parking meter', 'bench', 'bird', 'cat', 'dog', 'horse',
  'sheep', 'cow', 'elephant', 'bear', 'zebra', 'giraffe', 'N/A', 'backpack', 'umbrella', 'N/A', 'N/A', 'handbag',
  'tie', 'suitcase', 'frisbee', 'skis', 'snowboard', 'sports ball', 'kite', 'baseball bat', 'baseball glove',
  'skateboard', 'surfboard', 'tennis racket', 'bottle', 'N/A', 'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl',
  'banana', 'apple', 'sandwich', 'orange', 'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair', 'couch',
  'potted plant', 'bed', 'N/A', 'dining table', 'N/A', 'N/A', 'toilet', 'N/A', 'tv', 'laptop', 'mouse', 'remote',
  'keyboard', 'cell phone', 'microwave', 'oven', 'toaster', 'sink', 'refrigerator', 'N/A', 'book', 'clock', 'vase',
  'scissors', 'teddy bear', 'hair drier', 'toothbrush',
];

/** Whether a torchvision label is a real COCO category (not the background, not "N/A"). */
export function isCocoLabel(label: number): boolean {
  const name = COCO_V1_CATEGORIES[label];
  return name !== undefined && label > 0 && name !== 'N/A';
}

/** COCO `categories` records (id, name) of the 80 real categories, for an images/results JSON without GT. */
export function cocoCategories(): { id: number; name: string }[] {
  return COCO_V1_CATEGORIES.flatMap((name, id) => (isCocoLabel(id) ? [{ id, name }] : []));
}
