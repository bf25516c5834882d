"""A multi-layer perceptron: flatten, two hidden layers (h, h/2) with ReLU and dropout, a linear classifier.

`hidden` is usually not given by hand: `budget.py` solves for the width that matches a parameter budget (by
default the CNN's parameter count), which is how the assignment compares an MLP and a CNN fairly.
"""

from __future__ import annotations

import math

from torch import nn

from cnnlab.models.common import Normalize


class MLP(nn.Module):
    def __init__(self, num_classes, input_shape, mean=(0.0,), std=(1.0,), hidden=512, dropout=0.3):
        super().__init__()
        d = math.prod(input_shape)
        h1, h2 = hidden, max(1, hidden // 2)
        self.norm = Normalize(mean, std)
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(d, h1), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(h1, h2), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(h2, num_classes),
        )

    def forward(self, x):
        return self.net(self.norm(x))
