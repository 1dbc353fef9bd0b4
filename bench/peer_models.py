#!/usr/bin/python3
"""PyTorch side of bench/models.sh: the BAD DenseNet (tests/fixtures/bad_densenet.py, the
architecture of the shipped detector and of the reference fixture) on the very input
`earsight bench` reads, with the threads of OMP_NUM_THREADS. Prints medians in ms:
  forward  inference (no_grad)
  grad     forward + backward to the input (one saliency map)
  train32  a training step on 32 copies of the input (SGD, Nesterov momentum)

    /usr/bin/python3 bench/peer_models.py INPUT.npy RUNS"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures"))
from bad_densenet import BADDenseNet  # noqa: E402
from peer_timing import med, print_forward_and_grad  # noqa: E402

torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
torch.manual_seed(0)
x = torch.from_numpy(np.load(sys.argv[1]))
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 21
print_forward_and_grad(BADDenseNet().eval(), x, runs)
mt = BADDenseNet().train()
opt = torch.optim.SGD(mt.parameters(), lr=0.01, momentum=0.9, nesterov=True)
xb, yb = x.repeat(32, 1, 1, 1), torch.arange(32) % 2


def step():
    opt.zero_grad()
    torch.nn.functional.cross_entropy(mt(xb), yb).backward()
    opt.step()


print("train32", med(step, max(1, runs // 4)))
