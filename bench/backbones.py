#!/usr/bin/python3
"""Backbones real audio models use, from their published definitions, for `make bench`
(bench/models.sh): ResNet-18 and MobileNet-V2 (Debian's python3-torchvision, the first
convolution taking one channel: a log-mel spectrogram) and PANNs' CNN14 (Kong et al. 2020,
written out below; its log-mel front end left out), all on a 1 x 1 x 64 x 200 input.

    backbones.py export DIR          DIR/resnet18.onnx, mobilenet_v2.onnx, cnn14.onnx (opset 13)
    backbones.py time NAME X.npy N   PyTorch's medians in ms of N runs: forward, grad (forward +
                                     backward to the input), with OMP_NUM_THREADS threads

The weights are random (seed 0): timing does not depend on them."""
import os
import sys

import torch
import torch.nn.functional as F
from torch import nn

NAMES = ["resnet18", "mobilenet_v2", "cnn14"]


class ConvBlock(nn.Module):
    """PANNs' ConvBlock: two 3x3 conv-BN-ReLU, then average pooling."""

    def __init__(self, cin, cout):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn1, self.bn2 = nn.BatchNorm2d(cout), nn.BatchNorm2d(cout)

    def forward(self, x, pool):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        return F.avg_pool2d(x, pool)


class Cnn14(nn.Module):
    """PANNs CNN14 on (N, 1, time, mels) log-mel input: bn0 over the mel bins, six blocks,
    mean over frequency, max + mean over time, two dense layers, 527 AudioSet classes."""

    def __init__(self, mels=200, classes=527):
        super().__init__()
        self.bn0 = nn.BatchNorm2d(mels)
        chans = [1, 64, 128, 256, 512, 1024, 2048]
        self.blocks = nn.ModuleList(ConvBlock(a, b) for a, b in zip(chans, chans[1:]))
        self.fc1 = nn.Linear(2048, 2048)
        self.fc_audioset = nn.Linear(2048, classes)

    def forward(self, x):
        x = self.bn0(x.transpose(1, 3)).transpose(1, 3)
        for k, b in enumerate(self.blocks):
            x = b(x, 2 if k < 5 else 1)
        x = torch.mean(x, dim=3)
        x = torch.amax(x, dim=2) + torch.mean(x, dim=2)
        x = F.relu(self.fc1(x))
        return torch.sigmoid(self.fc_audioset(x))


def build(name):
    import torchvision

    torch.manual_seed(0)
    if name == "cnn14":
        return Cnn14().eval()
    m = getattr(torchvision.models, name)()
    if name == "resnet18":
        m.conv1 = nn.Conv2d(1, 64, 7, 2, 3, bias=False)
    else:
        m.features[0][0] = nn.Conv2d(1, 32, 3, 2, 1, bias=False)
    return m.eval()


def export(folder):
    os.makedirs(folder, exist_ok=True)
    x = torch.randn(1, 1, 64, 200)
    for name in NAMES:
        torch.onnx.export(build(name), (x,), os.path.join(folder, name + ".onnx"),
                          opset_version=13, input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}})


def time(name, path, runs):
    import numpy as np

    sys.path.insert(0, os.path.dirname(__file__))
    from peer_timing import print_forward_and_grad

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    print_forward_and_grad(build(name), torch.from_numpy(np.load(path)), runs)


if __name__ == "__main__":
    if sys.argv[1] == "export":
        export(sys.argv[2])
    else:
        time(sys.argv[2], sys.argv[3], int(sys.argv[4]))
