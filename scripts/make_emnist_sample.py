"""Build src/cnnlab/shipped/emnist_sample.npz: a small real EMNIST byclass sample for `cnnlab demo` and tests.

Run from the repository root: python scripts/make_emnist_sample.py [../shared/data/emnist-byclass-reduced]
NIST's EMNIST data is public domain. Images are stored upright (already transposed).
"""

import sys

import numpy as np
import torch

from cnnlab.data import emnist

root = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/emnist-byclass-reduced"
out = {}
for split, n in (("train", 8000), ("test", 2000)):
    t = emnist.decode(*emnist.files(__import__("pathlib").Path(root), split))
    idx = torch.randperm(len(t), generator=torch.Generator().manual_seed(2026))[:n].sort().values
    out[f"{split}_images"] = t.images[idx].numpy()
    out[f"{split}_labels"] = t.labels[idx].numpy().astype(np.uint8)
    classes = t.classes
np.savez_compressed("src/cnnlab/shipped/emnist_sample.npz", classes=np.array(classes), **out)
print({k: v.shape for k, v in out.items()})
