"""A cnnlab PyTorch model as a Keras 3 functional model, layer for layer, with its weights.

The Keras model takes a batch (N, H, W, C) of float32 pixel values 0-255 and returns softmax probabilities; the
/255, any resize and the mean/std normalisation are layers inside it. Where PyTorch and Keras differ, the Keras
model does what PyTorch does:
- flatten before a dense layer: PyTorch flattens (C, H, W), so a Permute to channels-first comes first;
- convolution padding: PyTorch pads symmetrically; Keras' "same" is symmetric only for stride 1 and an odd
  kernel, so any other padding is an explicit ZeroPadding2D before a "valid" convolution;
- max pooling with padding: PyTorch pads with -inf; zero padding is the same only after a ReLU (every value
  >= 0), which is where ResNet's stem pools; anywhere else it is refused;
- batch norm's epsilon, ReLU6 and depthwise kernels are taken from the PyTorch layer.
A layer without an exact Keras equivalent is refused (`NoKerasEquivalent`, naming the layer); nothing
approximate is written.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import warnings

from torch import nn

from cnnlab.errors import UsageError
from cnnlab.kerasfile.layers import keras_name, kind_of, to_keras, weighted


class NoKerasEquivalent(UsageError):
    pass


@contextlib.contextmanager
def quiet_keras():
    """Keras logs through absl that HDF5 is its "legacy" format (it is the one asked for) and that a loaded model
    has no training configuration, and its PyTorch backend turns tensors into arrays the way numpy 2 deprecates:
    nothing for a cnnlab user to act on."""
    absl = logging.getLogger("absl")
    level = absl.level
    absl.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "__array__ implementation doesn't accept a copy", DeprecationWarning)
            yield
    finally:
        absl.setLevel(level)


def import_keras():
    """keras on the PyTorch backend unless KERAS_BACKEND says otherwise (cnnlab needs no TensorFlow), on the CPU
    unless KERAS_TORCH_DEVICE says otherwise: cnnlab exports and checks on the CPU, where a GPU's TF32
    convolutions would not give PyTorch's fp32 probabilities."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    os.environ.setdefault("KERAS_TORCH_DEVICE", "cpu")
    try:
        import keras
    except ImportError as e:
        raise UsageError(f"the .h5 format needs the keras package with a backend it can start (KERAS_BACKEND="
                         f"{os.environ['KERAS_BACKEND']}: {e}); pip install keras, and set KERAS_BACKEND=torch"
                         ) from None
    return keras


class Builder:
    """Emits the Keras layers of PyTorch modules one by one; `done` collects the weighted layers converted."""

    def __init__(self, keras):
        self.L = keras.layers
        self.done: set[str] = set()
        self.names: set[str] = set()
        self.nonneg = False  # is the current tensor >= 0 (after a ReLU)? Then zero padding = -inf padding for max

    def refuse(self, path: str, m: nn.Module, why: str):
        raise NoKerasEquivalent(f"layer {path} ({m.__class__.__name__}): {why}; it has no exact Keras equivalent, so "
                                "no .h5 was written (--format onnx exports any model)")

    def name(self, path: str, suffix: str = "") -> str:
        """A unique Keras layer name from the PyTorch path (a module used twice, as ResNet's relu, gets _2, ...):
        the same model gives the same file, whatever Keras' own name counters are at."""
        base = keras_name(path) + suffix
        name, i = base, 1
        while name in self.names:
            i += 1
            name = f"{base}_{i}"
        self.names.add(name)
        return name

    def weights(self, layer, x, path: str, m: nn.Module):
        if layer.name != keras_name(path):  # the name cnnlab reads the weights back by
            self.refuse(path, m, f"its Keras name {keras_name(path)} is taken")
        y = layer(x)
        arrays = to_keras(m, kind_of(m))
        layer.set_weights([arrays[w.name] for w in layer.weights])
        self.done.add(path)
        self.nonneg = False
        return y

    def module(self, path: str, m: nn.Module, x):
        from torchvision.models.mobilenetv2 import InvertedResidual
        from torchvision.models.resnet import BasicBlock, Bottleneck
        if isinstance(m, InvertedResidual):
            y = self.sequential(f"{path}.conv", m.conv, x)
            return self.L.Add(name=self.name(path, "_add"))([x, y]) if m.use_res_connect else y
        if isinstance(m, (BasicBlock, Bottleneck)):
            return self.resnet_block(path, m, x)
        if isinstance(m, nn.Sequential):
            return self.sequential(path, m, x)
        handler = {nn.Conv2d: self.conv, nn.BatchNorm2d: self.batchnorm, nn.Linear: self.dense, nn.ReLU: self.relu,
                   nn.ReLU6: self.relu, nn.MaxPool2d: self.maxpool, nn.Dropout: self.dropout,
                   nn.Dropout2d: self.dropout, nn.Flatten: self.flatten, nn.Identity: lambda p, m, x: x,
                   nn.AdaptiveAvgPool2d: self.global_pool}.get(type(m))
        if handler is None:
            self.refuse(path, m, "cnnlab does not translate this kind of layer")
        return handler(path, m, x)

    def sequential(self, path: str, seq: nn.Module, x):
        for name, child in seq.named_children():
            x = self.module(f"{path}.{name}" if path else name, child, x)
        return x

    def conv(self, path, m: nn.Conv2d, x):
        if isinstance(m.padding, str) or m.padding_mode != "zeros" or m.dilation != (1, 1):
            self.refuse(path, m, f"padding {m.padding!r} ({m.padding_mode}), dilation {m.dilation}")
        depthwise = kind_of(m) == "depthwise"
        if m.groups != 1 and not depthwise:
            self.refuse(path, m, f"a grouped convolution ({m.groups} groups)")
        (kh, kw), (ph, pw) = m.kernel_size, m.padding
        if (ph, pw) == (0, 0):
            padding = "valid"
        elif m.stride == (1, 1) and (kh, kw) == (2 * ph + 1, 2 * pw + 1):
            padding = "same"  # symmetric here, as in PyTorch
        else:
            x = self.L.ZeroPadding2D(((ph, ph), (pw, pw)), name=self.name(path, "_pad"))(x)
            padding = "valid"
        common = {"kernel_size": (kh, kw), "strides": m.stride, "padding": padding, "use_bias": m.bias is not None,
                  "name": self.name(path)}
        layer = self.L.DepthwiseConv2D(depth_multiplier=1, **common) if depthwise else self.L.Conv2D(m.out_channels,
                                                                                                       **common)
        return self.weights(layer, x, path, m)

    def batchnorm(self, path, m: nn.BatchNorm2d, x):
        if not (m.affine and m.track_running_stats):
            self.refuse(path, m, "batch norm without a scale and shift or without running statistics")
        momentum = 1 - m.momentum if m.momentum is not None else 0.99
        return self.weights(self.L.BatchNormalization(axis=-1, epsilon=m.eps, momentum=momentum,
                                                      name=self.name(path)), x, path, m)

    def dense(self, path, m: nn.Linear, x):
        return self.weights(self.L.Dense(m.out_features, use_bias=m.bias is not None, name=self.name(path)),
                            x, path, m)

    def relu(self, path, m, x):
        self.nonneg = True
        return self.L.ReLU(max_value=6.0 if isinstance(m, nn.ReLU6) else None, name=self.name(path))(x)

    def maxpool(self, path, m: nn.MaxPool2d, x):
        pair = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
        k, s, p, d = pair(m.kernel_size), pair(m.stride or m.kernel_size), pair(m.padding), pair(m.dilation)
        if m.ceil_mode or d != (1, 1):
            self.refuse(path, m, "ceil_mode or dilation")
        if p != (0, 0):
            if not self.nonneg:
                self.refuse(path, m, "padding (PyTorch pads with -inf; zero padding is the same only after a ReLU)")
            x = self.L.ZeroPadding2D(((p[0], p[0]), (p[1], p[1])), name=self.name(path, "_pad"))(x)
        return self.L.MaxPooling2D(pool_size=k, strides=s, padding="valid", name=self.name(path))(x)

    def dropout(self, path, m, x):  # inactive at inference; kept so that the Keras model can be trained further
        layer = self.L.SpatialDropout2D if isinstance(m, nn.Dropout2d) else self.L.Dropout
        return layer(m.p, name=self.name(path))(x)

    def flatten(self, path, m: nn.Flatten, x):
        if (m.start_dim, m.end_dim) != (1, -1):
            self.refuse(path, m, f"flatten of dims {m.start_dim}..{m.end_dim}")
        if len(x.shape) == 4:
            x = self.L.Permute((3, 1, 2), name=self.name(path, "_chw"))(x)  # PyTorch flattens (C, H, W)
        return self.L.Flatten(name=self.name(path))(x)

    def global_pool(self, path, m: nn.AdaptiveAvgPool2d, x):
        if m.output_size not in (1, (1, 1)):
            self.refuse(path, m, f"adaptive pooling to {m.output_size}")
        self.nonneg = False
        return self.L.GlobalAveragePooling2D(name=self.name(path))(x)

    def resnet_block(self, path, m, x):
        from torchvision.models.resnet import Bottleneck
        names = ["conv1", "bn1", "relu", "conv2", "bn2"]
        if isinstance(m, Bottleneck):
            names += ["relu", "conv3", "bn3"]
        y = x
        for name in names:
            y = self.module(f"{path}.{name}", getattr(m, name), y)
        shortcut = self.module(f"{path}.downsample", m.downsample, x) if m.downsample is not None else x
        return self.relu(f"{path}.relu", m.relu, self.L.Add(name=self.name(path, "_add"))([y, shortcut]))

    # the pieces of cnnlab's own models
    def normalize(self, m, x):
        mean = m.mean.flatten().tolist()
        variance = (m.std.flatten().double() ** 2).tolist()
        if len(mean) > 1 and x.shape[-1] == 1:  # PyTorch broadcasts a gray image against RGB statistics
            x = self.gray_to_rgb(x)
        self.nonneg = False
        return self.L.Normalization(mean=mean, variance=variance, name=self.name("normalize"))(x)

    def gray_to_rgb(self, x):
        return self.L.Concatenate(axis=-1, name=self.name("gray_to_rgb"))([x, x, x]) if x.shape[-1] == 1 else x


def _mlp(b: Builder, model, x):
    return b.sequential("net", model.net, b.normalize(model.norm, x))


def _cnn(b: Builder, model, x):
    return b.sequential("classifier", model.classifier, b.sequential("features", model.features,
                                                                     b.normalize(model.norm, x)))


def _mobilenet(b: Builder, model, x):
    x = b.sequential("net.features", model.net.features, b.gray_to_rgb(b.normalize(model.norm, x)))
    x = b.L.GlobalAveragePooling2D(name=b.name("net.avgpool"))(x)  # in MobileNetV2.forward, not a module
    return b.sequential("net.classifier", model.net.classifier, x)


def _resnet(b: Builder, model, x):
    if tuple(x.shape[1:3]) != (model.image_size, model.image_size):
        x = b.L.Resizing(model.image_size, model.image_size, interpolation="bilinear", antialias=False,
                         name=b.name("resize"))(x)
    x = b.gray_to_rgb(b.normalize(model.norm, x))
    for name in ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool"):
        x = b.module(f"net.{name}", getattr(model.net, name), x)
    return b.module("net.fc", model.net.fc, b.module("dropout", model.dropout, x))


def translators() -> dict:
    from cnnlab.models.cnn import CNN
    from cnnlab.models.fer import FerNet
    from cnnlab.models.mlp import MLP
    from cnnlab.models.zoo import MobileNetV2, ResNet
    return {MLP: _mlp, CNN: _cnn, FerNet: _cnn, MobileNetV2: _mobilenet, ResNet: _resnet}


def build(model: nn.Module, input_shape, arch: str):
    """The Keras model of `model` (in eval mode, on the CPU) for images of `input_shape` = [C, H, W]."""
    translate = translators().get(type(model))
    if translate is None:
        raise NoKerasEquivalent(f"model {arch!r} ({type(model).__name__}): cnnlab has no Keras translation of this "
                                "architecture, so no .h5 was written (--format onnx exports any model)")
    keras = import_keras()
    model = model.cpu().float().eval()
    c, h, w = input_shape
    b = Builder(keras)
    pixels = keras.Input((h, w, c), name="pixels")
    x = translate(b, model, keras.layers.Rescaling(1 / 255, name="pixels_to_unit")(pixels))
    probabilities = keras.layers.Softmax(name="probabilities")(x)
    missing = [path for path, _, _ in weighted(model) if path not in b.done]
    if missing:
        raise NoKerasEquivalent(f"model {arch!r}: layer {missing[0]} is not reached by the Keras translation (the "
                                "PyTorch forward uses it in a way cnnlab does not translate); no .h5 was written")
    return keras.Model(pixels, probabilities, name=re.sub(r"\W", "_", f"cnnlab_{arch}"))
