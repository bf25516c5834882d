"""A small VGG-style CNN (conv-BN-ReLU blocks, max pooling, dropout) and its kernel-factorized twin.

`factorized=True` replaces every k×k convolution by a k×1 convolution followed by a 1×k convolution
(`FactorizedConv2d`). A k×k filter bank from C_in to C_out channels has k·k·C_in·C_out weights; the pair has
k·C_in·C_mid + k·C_mid·C_out with C_mid = min(C_in, C_out), i.e. 2/3 of the weights when C_in = C_out (k = 3),
at the price of only representing filters of rank ≤ C_mid-combinations of separable ones.
"""

from __future__ import annotations

from torch import nn

from cnnlab.models.common import Normalize


class FactorizedConv2d(nn.Sequential):
    """k×k convolution replaced by k×1 then 1×k (same output size, 'same' padding, stride 1)."""

    def __init__(self, cin, cout, k=3, bias=False):
        mid = min(cin, cout)
        super().__init__(
            nn.Conv2d(cin, mid, (k, 1), padding=(k // 2, 0), bias=False),
            nn.Conv2d(mid, cout, (1, k), padding=(0, k // 2), bias=bias),
        )


def conv_block(cin, cout, factorized):
    conv = FactorizedConv2d(cin, cout, 3) if factorized else nn.Conv2d(cin, cout, 3, padding=1, bias=False)
    return nn.Sequential(conv, nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class CNN(nn.Module):
    """[conv(w)] pool [conv(2w) conv(2w)] pool [conv(4w)] pool, dropout, fc(fc) ReLU dropout, fc(classes)."""

    def __init__(self, num_classes, input_shape, mean=(0.0,), std=(1.0,), width=32, fc=256, dropout=0.3,
                 factorized=False):
        super().__init__()
        c, h, w = input_shape
        self.norm = Normalize(mean, std)
        self.features = nn.Sequential(
            conv_block(c, width, factorized), nn.MaxPool2d(2),
            conv_block(width, 2 * width, factorized), conv_block(2 * width, 2 * width, factorized), nn.MaxPool2d(2),
            conv_block(2 * width, 4 * width, factorized), nn.MaxPool2d(2),
        )
        flat = 4 * width * (h // 8) * (w // 8)
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Dropout(dropout),
            nn.Linear(flat, fc), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(fc, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(self.norm(x)))
