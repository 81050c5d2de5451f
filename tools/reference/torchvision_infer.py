#!/usr/bin/python3
"""torchvision's side of `npm run bench:infer` (tools/bench/infer.ts), run with Debian's python3-torch /
python3-torchvision (CPU):

    /usr/bin/python3 tools/reference/torchvision_infer.py MODEL IMAGES_DIR WEIGHTS_OUT [--threads N]

MODEL is maskrcnn_resnet50_fpn, fasterrcnn_resnet50_fpn or retinanet_resnet50_fpn. Builds torchvision's preset
with seeded random weights (seed 0; the box classifier's / RetinaNet's class biases spread so that images get
detections and the mask head and paste run, as with real weights), writes them to WEIGHTS_OUT as safetensors
(torchvision keys, so tiedet loads the very same weights), then times `model([image])` — decode (read_image),
transform, network, postprocess, mask paste — over every image of IMAGES_DIR in name order, after one warm-up
image. Prints one JSON line: {"model", "images", "seconds", "imagesPerSecond", "detections", "threads"}.
"""
import json
import os
import sys
import time

import torch
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures'))
from st_writer import save_file  # noqa: E402


def build(name):
    m = getattr(torchvision.models.detection, name)(weights=None, weights_backbone=None)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        if hasattr(m, 'roi_heads'):
            p = m.roi_heads.box_predictor.cls_score
            p.bias.copy_(2.0 * torch.randn(p.bias.numel(), generator=g))
            p.weight.mul_(30)
        else:
            c = m.head.classification_head.cls_logits
            c.bias.copy_(-3.0 + 0.5 * torch.randn(c.bias.numel(), generator=g))
    return m.eval()


def main():
    name, images, weights_out = sys.argv[1], sys.argv[2], sys.argv[3]
    threads = int(sys.argv[sys.argv.index('--threads') + 1]) if '--threads' in sys.argv else torch.get_num_threads()
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    m = build(name)
    save_file({k: v.contiguous() for k, v in m.state_dict().items()}, weights_out, {'format': 'pt'})
    files = sorted(f for f in os.listdir(images) if f.lower().endswith(('.png', '.jpg', '.jpeg')))
    load = lambda f: torchvision.io.read_image(os.path.join(images, f), torchvision.io.ImageReadMode.RGB).float() / 255.0
    with torch.no_grad():
        m([load(files[0])])  # warm-up
        t0 = time.perf_counter()
        dets = 0
        for f in files:
            out = m([load(f)])[0]
            dets += int(out['scores'].numel())
        dt = time.perf_counter() - t0
    print(json.dumps({'model': name, 'images': len(files), 'seconds': dt, 'imagesPerSecond': len(files) / dt,
                      'detections': dets, 'threads': threads}))


if __name__ == '__main__':
    main()
