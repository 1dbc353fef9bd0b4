#!/usr/bin/python3
"""PyTorch side of bench_saliency: the BAD DenseNet (tests/fixtures/bad_densenet.py), 2 threads,
medians in ms of guided backprop, Grad-CAM, integrated gradients (50 Gauss-Legendre steps in
one batch, as Captum's default internal_batch_size) and SmoothGrad (25 samples in one batch).
Captum is not installed: each method is written out here with autograd."""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures"))
from bad_densenet import BADDenseNet  # noqa: E402
from peer_timing import med  # noqa: E402

torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
torch.manual_seed(0)
GUIDED = [False]
_relu = F.relu


class GuidedReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g.clamp(min=0) * (x > 0).to(g.dtype)


F.relu = lambda x, inplace=False: GuidedReLU.apply(x) if GUIDED[0] else _relu(x)


class Net(BADDenseNet):
    def features(self, x):
        x = self.conv0(x)
        for s in self.stages:
            if isinstance(s, torch.nn.ModuleList):
                for layer in s:
                    x = torch.cat([x, layer(x)], 1)
            else:
                x = F.avg_pool2d(s(x), 2, ceil_mode=self.ceil_mode)
        return F.relu(self.bn(x))


m = Net().eval()
for p in m.parameters():
    p.requires_grad_(False)
x = torch.randn(1, 1, 200, 56)
T = 1


def guided():
    GUIDED[0] = True
    xg = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(m(xg)[0, T], xg)
    GUIDED[0] = False
    return g


def gradcam():
    A = m.features(x.clone().requires_grad_(True))
    s = m.fc(A.mean((2, 3)))[0, T]
    (G,) = torch.autograd.grad(s, A)
    cam = F.relu((G.mean((2, 3), keepdim=True) * A).sum(1, keepdim=True))
    return F.interpolate(cam, size=x.shape[2:], mode="bilinear", align_corners=False)


def ig():
    a, w = np.polynomial.legendre.leggauss(50)
    alphas = torch.tensor(0.5 * (a + 1), dtype=torch.float32).view(-1, 1, 1, 1)
    xs = (alphas * x).requires_grad_(True)
    (g,) = torch.autograd.grad(m(xs)[:, T].sum(), xs)
    return (g * torch.tensor(0.5 * w, dtype=torch.float32).view(-1, 1, 1, 1)).sum(0) * x


def smoothgrad():
    sd = 0.15 * (x.max() - x.min())
    xs = (x + sd * torch.randn(25, 1, 200, 56)).requires_grad_(True)
    (g,) = torch.autograd.grad(m(xs)[:, T].sum(), xs)
    return g.mean(0)


print("guided", med(guided, 11))
print("gradcam", med(gradcam, 11))
print("ig50", med(ig, 3))
print("smoothgrad25", med(smoothgrad, 3))
