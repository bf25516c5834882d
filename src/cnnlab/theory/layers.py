"""Layer tables for the assignment's notation: output size and learnable parameters of every layer.

Notation (case-insensitive; items separated by whitespace, commas or `->`; the assignment's own notation, as
written in its table, is accepted: `CONV5-16(3, 2)`, `BATCHNORM`, and a leading `Input 32×32×3` row):
  CONVx-N(S,P)  N filters of x*x*D over a depth-D input, stride S, padding P (both 1 when not given;
                `CONVx-N(S)` sets only the stride)
  POOL-n        max pooling n*n, stride n, padding 0
  BATCHNORM     batch normalization (2 learnable values per channel: gamma, beta; plus the running mean and
                variance, which are statistics, not parameters)
  ReLU, ...     an activation (names below); PReLU learns one slope
  FLATTEN       H*W*C -> H*W*C values
  FC-N          fully connected layer with N outputs (flattens a 3-D input itself)
  DROPOUT       dropout (DROPOUT-p sets the drop probability, default 0.5); no parameters

Sizes are computed here with the usual arithmetic; `build_torch` builds the same network from torch modules so
that the tests can check every row against real layers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from cnnlab.errors import UsageError

ACTIVATIONS = {name.lower(): name for name in
               ("ReLU", "LeakyReLU", "PReLU", "RReLU", "ELU", "SELU", "GELU", "SiLU", "Sigmoid", "Tanh", "Softmax")}
FORMS = ("CONVx-N, CONVx-N(S), CONVx-N(S,P), POOL-n, BATCHNORM, FLATTEN, FC-N, DROPOUT, DROPOUT-p, "
         "or an activation (" + ", ".join(ACTIVATIONS.values()) + ")")

_CONV = re.compile(r"conv(\d+)-(\d+)(?:\((\d+)(?:,(\d+))?\))?")
_POOL = re.compile(r"(?:max)?pool-?(\d+)")
_FC = re.compile(r"(?:fc|dense|linear)-(\d+)")
_DROPOUT = re.compile(r"dropout(?:-(0?\.\d+|0|1(?:\.0*)?))?")


@dataclass
class Layer:
    token: str  # as written in the spec
    kind: str  # conv, pool, batchnorm, activation, flatten, fc, dropout
    args: dict = field(default_factory=dict)
    output: list[int] = field(default_factory=list)  # [H, W, C] or [N]
    params: int = 0  # learnable
    non_trainable: int = 0  # batch norm running mean and variance
    formula: str = ""  # how params (and the size) were obtained

    def as_dict(self) -> dict:
        return {"layer": self.token, "output": self.output, "params": self.params,
                "non_trainable": self.non_trainable, "formula": self.formula}


def parse_input(text: str) -> list[int]:
    parts = re.split(r"\s*[x×X*,]\s*", text.strip())
    try:
        shape = [int(p) for p in parts]
    except ValueError:
        shape = []
    if len(shape) not in (1, 3) or min(shape, default=0) < 1:
        raise UsageError(f"bad input shape {text!r}: expected HxWxC (e.g. 32x32x3) or N, with positive integers")
    return shape


def tokenize(spec: str) -> list[str]:
    """Split on whitespace, commas and '->', but not inside parentheses: 'CONV3-8(1,1)' stays one token."""
    tokens, current, depth = [], "", 0
    spec = spec.replace("->", " ").replace("→", " ")
    for ch in spec:
        depth += (ch == "(") - (ch == ")")
        if depth == 0 and (ch.isspace() or ch == ","):
            tokens.append(current)
            current = ""
        else:
            current += ch
    tokens.append(current)
    tokens = [t for t in tokens if t]
    # allow a space before the parentheses: "CONV3-8 (2,0)"
    merged: list[str] = []
    for t in tokens:
        if t.startswith("(") and merged:
            merged[-1] += t
        else:
            merged.append(t)
    if not merged:
        raise UsageError(f"empty layer spec; write layers like 'CONV3-8 ReLU POOL-2 FC-10' using {FORMS}")
    return merged


def parse_token(token: str) -> Layer:
    t = token.lower().replace(" ", "")
    if m := _CONV.fullmatch(t):
        k, n = int(m[1]), int(m[2])
        s = int(m[3]) if m[3] is not None else 1
        p = int(m[4]) if m[4] is not None else 1
        if k < 1 or n < 1 or s < 1:
            raise UsageError(f"bad layer {token!r}: kernel, filters and stride must be >= 1")
        return Layer(token, "conv", {"kernel": k, "filters": n, "stride": s, "padding": p})
    if m := _POOL.fullmatch(t):
        if int(m[1]) < 1:
            raise UsageError(f"bad layer {token!r}: pool size must be >= 1")
        return Layer(token, "pool", {"size": int(m[1])})
    if t in ("batchnorm", "bn", "batchnorm2d", "batchnorm1d"):
        return Layer(token, "batchnorm")
    if t in ACTIVATIONS:
        return Layer(token, "activation", {"name": ACTIVATIONS[t]})
    if t == "flatten":
        return Layer(token, "flatten")
    if m := _FC.fullmatch(t):
        if int(m[1]) < 1:
            raise UsageError(f"bad layer {token!r}: FC needs at least one output")
        return Layer(token, "fc", {"units": int(m[1])})
    if m := _DROPOUT.fullmatch(t):
        return Layer(token, "dropout", {"p": float(m[1]) if m[1] else 0.5})
    raise UsageError(f"bad layer token {token!r}; accepted forms: {FORMS}")


def conv_size(n: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """floor((n + 2P - D(K-1) - 1) / S) + 1, the output side of a convolution (or pooling) window."""
    return (n + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _empty(layer: Layer, shape: list[int], why: str) -> UsageError:
    return UsageError(f"layer {layer.token!r} on input {'x'.join(map(str, shape))} gives an empty output ({why}); "
                      "use a smaller kernel/pool, more padding or a larger input")


_INPUT = re.compile(r"input(?:[-:(]?\s*(.+?)\)?)?", re.I)


def split_input(tokens: list[str]) -> tuple[list[int] | None, list[str]]:
    """A leading input row written as in the assignment's table ("Input 32×32×3", "INPUT-32x32x3") -> (shape, rest)."""
    m = _INPUT.fullmatch(tokens[0].strip()) if tokens else None
    if not m:
        return None, tokens
    if m[1]:
        return parse_input(m[1]), tokens[1:]
    if len(tokens) < 2:
        raise UsageError("the spec starts with 'Input' but gives no size after it; "
                         "write e.g. 'Input 32x32x3 CONV3-8 ...'")
    return parse_input(tokens[1]), tokens[2:]


def resolve(spec: str | list[str], input_shape: str | list[int] | None) -> tuple[list[int], list[str]]:
    """(input shape, layer tokens): the input comes from `input_shape`, or from the spec's own leading Input row
    (both may be given when they agree); 32x32x3 when neither says."""
    tokens = tokenize(spec) if isinstance(spec, str) else list(spec)
    written, tokens = split_input(tokens)
    given = None if input_shape is None else (
        parse_input(input_shape) if isinstance(input_shape, str) else list(input_shape))
    if written and given and written != given:
        raise UsageError(f"the spec's Input row says {'x'.join(map(str, written))} but --input says "
                         f"{'x'.join(map(str, given))}; give one of them")
    if not tokens:
        raise UsageError(f"no layers after the input; write layers like 'CONV3-8 ReLU POOL-2 FC-10' using {FORMS}")
    return written or given or [32, 32, 3], tokens


def table(spec: str | list[str], input_shape: str | list[int] | None = None) -> list[Layer]:
    """Parse the spec and fill in every layer's output shape and parameter counts."""
    shape, tokens = resolve(spec, input_shape)
    layers = [parse_token(t) for t in tokens]
    for layer in layers:
        a = layer.args
        if layer.kind in ("conv", "pool") and len(shape) != 3:
            raise UsageError(f"layer {layer.token!r} needs an HxWxC input but gets {shape[0]} flat values "
                             "(it comes after FLATTEN or FC)")
        if layer.kind == "conv":
            h, w, c = shape
            k, n, s, p = a["kernel"], a["filters"], a["stride"], a["padding"]
            oh, ow = conv_size(h, k, s, p), conv_size(w, k, s, p)
            if oh < 1 or ow < 1:
                raise _empty(layer, shape, f"{k}x{k} kernel with padding {p} does not fit")
            shape = [oh, ow, n]
            layer.params = k * k * c * n + n
            layer.formula = (f"out = floor(({h} + 2·{p} − {k})/{s}) + 1 = {oh}; "
                             f"params = {k}·{k}·{c}·{n} + {n} = {layer.params}")
        elif layer.kind == "pool":
            h, w, c = shape
            n = a["size"]
            oh, ow = conv_size(h, n, n), conv_size(w, n, n)
            if oh < 1 or ow < 1:
                raise _empty(layer, shape, f"{n}x{n} window larger than the {h}x{w} input")
            shape = [oh, ow, c]
            layer.formula = f"out = floor(({h} − {n})/{n}) + 1 = {oh}; no parameters"
        elif layer.kind == "batchnorm":
            c = shape[-1]
            layer.params, layer.non_trainable = 2 * c, 2 * c
            layer.formula = f"γ, β: 2·{c} = {2 * c} learnable; running mean, var: 2·{c} = {2 * c} statistics"
        elif layer.kind == "activation":
            layer.params = 1 if a["name"] == "PReLU" else 0
            layer.formula = "one learnable slope" if layer.params else "no parameters"
        elif layer.kind == "flatten":
            shape = [_numel(shape)]
            layer.formula = "no parameters"
        elif layer.kind == "fc":
            f, n = _numel(shape), a["units"]
            shape = [n]
            layer.params = f * n + n
            layer.formula = f"params = {f}·{n} + {n} = {layer.params}"
        elif layer.kind == "dropout":
            layer.formula = "no parameters"
        layer.output = list(shape)
    return layers


def _numel(shape: list[int]) -> int:
    out = 1
    for s in shape:
        out *= s
    return out


def summary(spec, input_shape=None) -> dict:
    shape, tokens = resolve(spec, input_shape)
    layers = table(tokens, shape)
    return {"input": shape, "layers": [layer.as_dict() for layer in layers],
            "total_params": sum(layer.params for layer in layers),
            "total_non_trainable": sum(layer.non_trainable for layer in layers)}


def format_table(result: dict) -> str:
    def shape(s):
        return "x".join(map(str, s))
    rows = [("layer", "output", "params", "non-trainable")]
    rows.append(("INPUT", shape(result["input"]), "0", "0"))
    for r in result["layers"]:
        rows.append((r["layer"], shape(r["output"]), str(r["params"]), str(r["non_trainable"])))
    rows.append(("total", "", str(result["total_params"]), str(result["total_non_trainable"])))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.insert(len(lines) - 1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def build_torch(spec, input_shape=None):
    """The same network as torch modules (input in NCHW), one module per spec item (FC on a 3-D input gets
    its own nn.Flatten inside an nn.Sequential)."""
    from torch import nn

    shape, tokens = resolve(spec, input_shape)
    modules = []
    for layer in table(tokens, shape):
        a = layer.args
        if layer.kind == "conv":
            m = nn.Conv2d(shape[-1], a["filters"], a["kernel"], stride=a["stride"], padding=a["padding"])
        elif layer.kind == "pool":
            m = nn.MaxPool2d(a["size"], stride=a["size"])
        elif layer.kind == "batchnorm":
            m = nn.BatchNorm2d(shape[-1]) if len(shape) == 3 else nn.BatchNorm1d(shape[0])
        elif layer.kind == "activation":
            m = nn.Softmax(dim=1) if a["name"] == "Softmax" else getattr(nn, a["name"])()
        elif layer.kind == "flatten":
            m = nn.Flatten()
        elif layer.kind == "fc":
            linear = nn.Linear(_numel(shape), a["units"])
            m = nn.Sequential(nn.Flatten(), linear) if len(shape) == 3 else linear
        else:
            m = nn.Dropout(a["p"])
        modules.append(m)
        shape = layer.output
    return nn.Sequential(*modules)
