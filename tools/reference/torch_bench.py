#!/usr/bin/python3
"""The PyTorch side of tiedet's speed benches (issue 23): a small server that builds one torchvision model, warms it
up, then times one run per request, so that a bench can alternate tiedet and PyTorch runs in the same run
(tools/bench/reference.ts starts it; Debian python3-torch / python3-torchvision, CPU; tests never need it).

    /usr/bin/python3 tools/reference/torch_bench.py TASK --input HxW --threads N [--preset resnet50] [--batch 1]

TASK:
  backbone          torchvision `resnet50` (or --preset resnet101 / resnext50_32x4d), eval mode, no_grad, C2–C5 of
                    a random [batch, 3, H, W] input (no classifier): parts {forward}.
  backbone-train    one training step of the same backbone as mmdetection trains it (FrozenBatchNorm2d, stem + layer1
                    frozen): L = Σ_k mean(C_k) over C3–C5, backward, SGD (momentum 0.9, weight decay 1e-4): parts
                    {forward, backward_step}.
  retinanet         `retinanet_resnet50_fpn`'s network on one H×W image already normalised and padded to 32, eval,
                    no_grad, split as tiedet's bench:detect: backbone (body) | neck (FPN P3–P7) | head (the class and box
                    towers) | post (torchvision's postprocess_detections + transform.postprocess). Random weights; the
                    class bias is shifted once so that ≥ 5 % of every level's scores pass score_thr 0.05 (the load
                    tiedet's bench puts on its post-processing).
  retinanet-train   one training step of the same RetinaNet at H×W, batch 1, built as torchvision builds it with a
                    pretrained backbone (FrozenBatchNorm2d, stem + layer1 frozen: trainable_backbone_layers 3 —
                    mmdetection's frozen_stages 1 / norm_eval), four GT boxes, loss + backward + SGD (momentum 0.9,
                    weight decay 1e-4): parts {loss, backward_step}.
  maskrcnn-stages   `maskrcnn_resnet50_fpn` at H×W, eval, no_grad: backbone (body) | neck (FPN P2–P6) | rpn (head +
                    1000 proposals); the RoI heads are left out (Debian torchvision's CPU RoIAlign is abnormally slow).

Protocol (one JSON object per line): after the warm-up run it prints {"ready": true, "torch", "torchvision",
"threads", ...}; then each stdin line "run" gets {"ms": total, "parts": {name: ms}}; "quit" or end of input exits.
"""
import argparse
import json
import math
import sys
import time

import torch
import torchvision
from torchvision.models.detection import RetinaNet, MaskRCNN
from torchvision.models.detection.backbone_utils import _resnet_fpn_extractor
from torchvision.ops.feature_pyramid_network import LastLevelP6P7
from torchvision.ops.misc import FrozenBatchNorm2d


def ms_since(t0):
    return (time.perf_counter() - t0) * 1000.0


def parse_hw(s):
    h, w = s.lower().split('x')
    return int(h), int(w)


def pad32(n):
    return int(math.ceil(n / 32.0) * 32)


def timed_step(opt, loss, parts):
    """zero_grad, backward, SGD step, timed into parts['backward_step']."""
    t0 = time.perf_counter()
    opt.zero_grad()
    loss.backward()
    opt.step()
    parts['backward_step'] = ms_since(t0)
    return parts


def timed_features(m, x, parts):
    """A torchvision detector's backbone body then FPN on x, timed into parts['backbone'] / parts['neck']."""
    t0 = time.perf_counter()
    body = m.backbone.body(x)
    parts['backbone'] = ms_since(t0)
    t0 = time.perf_counter()
    feats = m.backbone.fpn(body)
    parts['neck'] = ms_since(t0)
    return feats


class Backbone:
    def __init__(self, a, h, w):
        m = getattr(torchvision.models, a.preset)(weights=None).eval()
        self.layers = [m.conv1, m.bn1, m.relu, m.maxpool]
        self.stages = [m.layer1, m.layer2, m.layer3, m.layer4]
        self.x = torch.rand(a.batch, 3, h, w, generator=torch.Generator().manual_seed(0)) * 2 - 1

    def run(self):
        t0 = time.perf_counter()
        with torch.no_grad():
            y = self.x
            for layer in self.layers:
                y = layer(y)
            outs = []
            for s in self.stages:
                y = s(y)
                outs.append(y)
        return {'forward': ms_since(t0)}


class BackboneTrain:
    def __init__(self, a, h, w):
        torch.manual_seed(0)
        m = getattr(torchvision.models, a.preset)(weights=None, norm_layer=FrozenBatchNorm2d).train()
        for mod in [m.conv1, m.layer1]:
            for p in mod.parameters():
                p.requires_grad_(False)
        self.stem = [m.conv1, m.bn1, m.relu, m.maxpool, m.layer1]
        self.stages = [m.layer2, m.layer3, m.layer4]
        params = [p for s in self.stages for p in s.parameters() if p.requires_grad]
        self.opt = torch.optim.SGD(params, lr=0.001, momentum=0.9, weight_decay=1e-4)
        self.x = torch.rand(a.batch, 3, h, w, generator=torch.Generator().manual_seed(0)) * 2 - 1

    def run(self):
        t0 = time.perf_counter()
        y = self.x
        with torch.no_grad():
            for layer in self.stem:
                y = layer(y)
        loss = 0
        for s in self.stages:
            y = s(y)
            loss = loss + y.mean()
        return timed_step(self.opt, loss, {'forward': ms_since(t0)})


def retinanet_model(trainable_layers, h, w):
    body = torchvision.models.resnet50(weights=None, norm_layer=FrozenBatchNorm2d)
    backbone = _resnet_fpn_extractor(body, trainable_layers, returned_layers=[2, 3, 4],
                                     extra_blocks=LastLevelP6P7(256, 256))
    # the transform keeps an H×W image at H×W (800×1333 is torchvision's default size anyway)
    return RetinaNet(backbone, 91, min_size=min(h, w), max_size=max(h, w))


class RetinaInference:
    def __init__(self, a, h, w):
        torch.manual_seed(0)
        self.m = retinanet_model(5, h, w).eval()
        self.h, self.w = h, w
        # the network's input as tiedet's bench gives it: one normalised image padded to a multiple of 32
        self.x = torch.rand(1, 3, pad32(h), pad32(w), generator=torch.Generator().manual_seed(0)) * 2 - 1
        self.calibrate()

    def calibrate(self):
        """Shift the class bias so that ≥ 5 % of every level's scores exceed 0.05 (see the file comment)."""
        with torch.no_grad():
            feats = list(self.m.backbone(self.x).values())
            head = self.m.head.classification_head
            worst = None
            for f in feats:
                t = f
                for layer in head.conv:
                    t = layer(t)
                logits = head.cls_logits(t).flatten()
                q = torch.quantile(logits[torch.randperm(logits.numel())[:1000000]], 0.95).item()
                worst = q if worst is None else min(worst, q)
            target = math.log(0.05 / 0.95) + 0.05
            head.cls_logits.bias += target - worst

    def run(self):
        m = self.m
        parts = {}
        with torch.no_grad():
            feats = list(timed_features(m, self.x, parts).values())
            t0 = time.perf_counter()
            head_outputs = m.head(feats)
            parts['head'] = ms_since(t0)
            t0 = time.perf_counter()
            image_sizes = [(self.h, self.w)]
            anchors = m.anchor_generator(torchvision.models.detection.image_list.ImageList(self.x, image_sizes), feats)
            num_anchors_per_level = [f.size(2) * f.size(3) for f in feats]
            hw = sum(num_anchors_per_level)
            a = head_outputs['cls_logits'].size(1)
            per_level = [x * (a // hw) for x in num_anchors_per_level]
            split_head = {k: list(v.split(per_level, dim=1)) for k, v in head_outputs.items()}
            split_anchors = [list(x.split(per_level)) for x in anchors]
            dets = m.postprocess_detections(split_head, split_anchors, image_sizes)
            dets = m.transform.postprocess(dets, image_sizes, [(self.h, self.w)])
            parts['post'] = ms_since(t0)
            self.detections = int(dets[0]['boxes'].shape[0])
        return parts


class RetinaTrain:
    def __init__(self, a, h, w):
        torch.manual_seed(0)
        self.m = retinanet_model(3, h, w).train()
        params = [p for p in self.m.parameters() if p.requires_grad]
        self.opt = torch.optim.SGD(params, lr=0.001, momentum=0.9, weight_decay=1e-4)
        g = torch.Generator().manual_seed(0)
        self.images = [torch.rand(3, h, w, generator=g)]
        # the four boxes of tiedet's bench:detect --train-step (given at 800 px height, scaled with the input)
        boxes = torch.tensor([[100.0, 120.0, 400.0, 500.0], [600.0, 200.0, 900.0, 420.0],
                              [1000.0, 450.0, 1250.0, 760.0], [300.0, 550.0, 520.0, 700.0]]) * (h / 800.0)
        self.targets = [{'boxes': boxes, 'labels': torch.tensor([1, 6, 18, 57])}]

    def run(self):
        t0 = time.perf_counter()
        losses = self.m(self.images, self.targets)
        loss = sum(losses.values())
        return timed_step(self.opt, loss, {'loss': ms_since(t0)})


class MaskRcnnStages:
    def __init__(self, a, h, w):
        torch.manual_seed(0)
        self.m = torchvision.models.detection.maskrcnn_resnet50_fpn(weights=None, weights_backbone=None).eval()
        self.h, self.w = h, w
        self.x = torch.rand(1, 3, pad32(h), pad32(w), generator=torch.Generator().manual_seed(0)) * 2 - 1

    def run(self):
        m = self.m
        parts = {}
        with torch.no_grad():
            feats = timed_features(m, self.x, parts)
            t0 = time.perf_counter()
            il = torchvision.models.detection.image_list.ImageList(self.x, [(self.h, self.w)])
            m.rpn(il, feats)
            parts['rpn'] = ms_since(t0)
        return parts


TASKS = {'backbone': Backbone, 'backbone-train': BackboneTrain, 'retinanet': RetinaInference, 'retinanet-train': RetinaTrain,
         'maskrcnn-stages': MaskRcnnStages}


def main():
    p = argparse.ArgumentParser()
    p.add_argument('task', choices=sorted(TASKS))
    p.add_argument('--input', default='800x1333')
    p.add_argument('--threads', type=int, default=torch.get_num_threads())
    p.add_argument('--preset', default='resnet50')
    p.add_argument('--batch', type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    h, w = parse_hw(a.input)
    task = TASKS[a.task](a, h, w)
    task.run()  # warm-up
    print(json.dumps({'ready': True, 'task': a.task, 'input': [h, w], 'torch': torch.__version__,
                      'torchvision': torchvision.__version__, 'threads': torch.get_num_threads(),
                      'preset': a.preset}), flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == 'quit':
            break
        if cmd != 'run':
            print(json.dumps({'error': f'unknown command {cmd!r}'}), flush=True)
            continue
        parts = task.run()
        out = {'ms': sum(parts.values()), 'parts': parts}
        if hasattr(task, 'detections'):
            out['detections'] = task.detections
        print(json.dumps(out), flush=True)


if __name__ == '__main__':
    main()
