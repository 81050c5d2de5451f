#!/usr/bin/python3
"""torchvision's side of `npm run bench:infer` (tools/bench/infer.ts), run with Debian's python3-torch /
python3-torchvision (CPU):

    /usr/bin/python3 tools/reference/torchvision_infer.py MODEL IMAGES_DIR WEIGHTS_OUT [--threads N]

MODEL is maskrcnn_resnet50_fpn, fasterrcnn_resnet50_fpn or retinanet_resnet50_fpn. Builds torchvision's preset
with seeded random weights (seed 0; R-CNN: the box classifier re-drawn so that its logits have std ≈ 3 on the
first image's RoI features — scores spread, neither uniform (no detections) nor saturated (all 1.0); RetinaNet:
class biases −3 ± 0.5 — so that images get detections and the mask head and paste run, as with real weights), writes them to WEIGHTS_OUT as safetensors
(torchvision keys, so tiedet loads the very same weights), then times `model([image])` — decode (read_image),
transform, network, postprocess, mask paste — over every image of IMAGES_DIR in name order, after one warm-up
image. `--dump FILE` also writes every image's boxes, scores and labels (a full-size parity check). Prints one JSON line: {"model", "images", "seconds", "imagesPerSecond", "detections", "threads"}.
"""
import json
import os
import sys
import time

import torch
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures'))
from st_writer import save_file  # noqa: E402


def build(name, first_image):
    """The preset with seeded random weights whose class scores spread without saturating (see the file comment)."""
    m = getattr(torchvision.models.detection, name)(weights=None, weights_backbone=None).eval()
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        if hasattr(m, 'roi_heads'):
            # calibrate on the first image: class logits with std ≈ 3 (softmax neither uniform nor saturated)
            feats = []
            h = m.roi_heads.box_head.register_forward_hook(lambda mod, inp, out: feats.append(out))
            m([first_image])
            h.remove()
            rms = float(feats[0].pow(2).mean().sqrt())
            p = m.roi_heads.box_predictor.cls_score
            p.weight.copy_(torch.randn(p.weight.shape, generator=g) * (3.0 / (rms * p.weight.shape[1] ** 0.5)))
            p.bias.copy_(torch.randn(p.bias.numel(), generator=g))
        else:
            c = m.head.classification_head.cls_logits
            c.bias.copy_(-3.0 + 0.5 * torch.randn(c.bias.numel(), generator=g))
    return m


def main():
    name, images, weights_out = sys.argv[1], sys.argv[2], sys.argv[3]
    dump = sys.argv[sys.argv.index('--dump') + 1] if '--dump' in sys.argv else None
    threads = int(sys.argv[sys.argv.index('--threads') + 1]) if '--threads' in sys.argv else torch.get_num_threads()
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    files = sorted(f for f in os.listdir(images) if f.lower().endswith(('.png', '.jpg', '.jpeg')))
    load = lambda f: torchvision.io.read_image(os.path.join(images, f), torchvision.io.ImageReadMode.RGB).float() / 255.0
    m = build(name, load(files[0]))
    save_file({k: v.contiguous() for k, v in m.state_dict().items()}, weights_out, {'format': 'pt'})
    with torch.no_grad():
        m([load(files[0])])  # warm-up
        t0 = time.perf_counter()
        dets = 0
        dumped = []
        for f in files:
            out = m([load(f)])[0]
            dets += int(out['scores'].numel())
            if dump:
                dumped.append({'file': f, 'boxes': out['boxes'].reshape(-1).tolist(), 'scores': out['scores'].tolist(),
                               'labels': out['labels'].tolist()})
        dt = time.perf_counter() - t0
    if dump:
        with open(dump, 'w') as fh:
            json.dump(dumped, fh)
    print(json.dumps({'model': name, 'images': len(files), 'seconds': dt, 'imagesPerSecond': len(files) / dt,
                      'detections': dets, 'threads': threads}))


if __name__ == '__main__':
    main()
