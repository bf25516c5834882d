"""A VGG-style network for 48×48 faces (after Khaireddin and Chen, 2021): four stages of two 3×3 conv-BN-ReLU
layers with max pooling and dropout, then two fully connected layers. `width` scales every stage
(64 is the paper's size; 32 is four times cheaper and is what a CPU can train in an hour)."""

from __future__ import annotations

from torch import nn

from cnnlab.models.cnn import conv_block
from cnnlab.models.common import Normalize


class FerNet(nn.Module):
    def __init__(self, num_classes, input_shape, mean=(0.0,), std=(1.0,), width=32, fc=256, dropout=0.4,
                 factorized=False):
        super().__init__()
        c, h, w = input_shape
        widths = [width, 2 * width, 4 * width, 8 * width]
        layers, cin = [], c
        for i, cout in enumerate(widths):
            layers += [conv_block(cin, cout, factorized), conv_block(cout, cout, factorized), nn.MaxPool2d(2)]
            if i >= 1:
                layers.append(nn.Dropout2d(dropout / 4))
            cin = cout
        self.norm = Normalize(mean, std)
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Dropout(dropout),
            nn.Linear(widths[-1] * (h // 16) * (w // 16), fc), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(fc, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(self.norm(x)))
