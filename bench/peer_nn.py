#!/usr/bin/python3
"""PyTorch side of bench_nn: the BAD DenseNet (tests/fixtures/bad_densenet.py), 2 threads,
medians in ms of forward, forward + backward to the input, and a training step (batch 32)."""
import os
import sys
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures"))
from bad_densenet import BADDenseNet  # noqa: E402
from peer_timing import med  # noqa: E402

torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
torch.manual_seed(0)


m = BADDenseNet().eval()
x = torch.randn(1, 1, 200, 56)


def forward():
    with torch.no_grad():
        m(x)


def saliency():
    xg = x.clone().requires_grad_(True)
    y = m(xg)
    y[0, int(y.argmax())].backward()


print("forward", med(forward, 21))
print("saliency", med(saliency, 21))
mt = BADDenseNet().train()
opt = torch.optim.SGD(mt.parameters(), lr=0.01, momentum=0.9, nesterov=True)
xb, yb = torch.randn(32, 1, 200, 56), torch.randint(0, 2, (32,))


def step():
    opt.zero_grad()
    torch.nn.functional.cross_entropy(mt(xb), yb).backward()
    opt.step()


print("train32", med(step, 5))
