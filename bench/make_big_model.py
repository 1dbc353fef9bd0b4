#!/usr/bin/python3
"""A ~300 MB ONNX model for `make bench`'s loading line (issue 15, item 6): a VGG-like
network (conv-BN-ReLU blocks, max pooling) on a 1 x 64 x 200 log-mel input with a large
dense head, 74 M parameters, exported by torch.onnx.export as users export (opset 13,
symbolic batch). Written to the path given (never committed: it is 300 MB).

    /usr/bin/python3 bench/make_big_model.py /tmp/big.onnx"""
import sys
import torch
from torch import nn


def block(cin, cout):
    return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(),
            nn.MaxPool2d(2)]


class BigVGG(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(*block(1, 64), *block(64, 128), *block(128, 256))
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(256 * 8 * 25, 1408), nn.ReLU(),
                                  nn.Dropout(0.5), nn.Linear(1408, 1024), nn.ReLU(),
                                  nn.Linear(1024, 10))

    def forward(self, x):
        return self.head(self.features(x))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/big.onnx"
    torch.manual_seed(0)
    m = BigVGG().eval()
    x = torch.randn(1, 1, 64, 200)
    torch.onnx.export(m, (x,), out, opset_version=13, input_names=["input"],
                      output_names=["output"], dynamic_axes={"input": {0: "batch"}})


if __name__ == "__main__":
    main()
