"""The idx file format of MNIST and EMNIST (gzipped or not), read with errors that name the file and the fix.

torchvision's own reader (`torchvision.datasets.mnist.read_sn3_pascalvincent_tensor`) asserts instead of
explaining and does not read `.gz`; this reader checks the magic number, dimensions and length first.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import torch

from cnnlab.errors import DataError

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path, ndim: int) -> torch.Tensor:
    path = Path(path)
    try:
        raw = gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError) as e:  # EOFError: a truncated .gz
        raise DataError(f"{path}: cannot read ({e}); download the file again") from None
    fix = "the file is damaged or not an idx file; download it again"
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES:
        raise DataError(f"{path}: wrong magic number {raw[:4].hex() or 'none'} (expected 0000080{ndim}); {fix}")
    if raw[3] != ndim:
        raise DataError(f"{path}: holds a {raw[3]}-dimensional array, expected {ndim}; is it the right file?")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated header; {fix}")
    shape = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    dtype = np.dtype(_DTYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DataError(f"{path}: truncated or padded: {len(raw) - header} data bytes for shape {shape}, "
                        f"expected {expected}; {fix}")
    arr = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return torch.from_numpy(arr.astype(arr.dtype.newbyteorder("=")).copy())


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array as an idx file (gzipped when the name ends in .gz). Used by tests and tools."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    data = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape) + array.tobytes()
    path = Path(path)
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
