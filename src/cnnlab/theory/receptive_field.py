"""Receptive field of L stacked convolutions (kernel K, dilation D, stride S, padding P) and the input range an
output element sees.

A dilated K-tap kernel spans K_eff = D(K-1) + 1 inputs. Layer l (1-based, counted from the input) moves one
step in its own input per step of its output, and one step of its input is J_{l-1} = S_1...S_{l-1} input pixels,
so the field grows by (K_eff - 1)·J_{l-1}:

    size = 1 + sum_l D_l (K - 1) J_{l-1}           (= 1 + L·D·(K-1) with stride 1)
    output (i, j) sees input rows  i·J_L - P_tot ... i·J_L - P_tot + size - 1   (columns alike, with j)
    with J_L = S^L and P_tot = sum_l P·J_{l-1}.

Dilated kernels only touch every D-th pixel, so the field has holes: `offsets` lists the ones actually reached
(the gridding artefact, see demos.py).
"""

from __future__ import annotations

from cnnlab.errors import UsageError


def _per_layer(value, layers: int, name: str) -> list[int]:
    values = [int(v) for v in value] if isinstance(value, (list, tuple)) else [int(value)]
    if len(values) == 1:
        values = values * layers
    if len(values) != layers:
        raise UsageError(f"--{name} lists {len(values)} values but there are {layers} layers; "
                         f"give one value or one per layer")
    return values


def offsets(kernel: int, dilations: list[int], strides: list[int]) -> list[int]:
    """1-D offsets (relative to the field's first pixel) that reach one output through the stack."""
    reached, jump = {0}, 1
    for d, s in zip(dilations, strides):
        reached = {r + t * d * jump for r in reached for t in range(kernel)}
        jump *= s
    return sorted(reached)


def receptive_field(layers: int, kernel: int, dilation=1, stride=1, padding: int = 0, at=(0, 0)) -> dict:
    if layers < 1 or kernel < 1:
        raise UsageError(f"need --layers >= 1 and --kernel >= 1 (got {layers} and {kernel})")
    dilations = _per_layer(dilation, layers, "dilation")
    strides = _per_layer(stride, layers, "stride")
    if min(dilations) < 1 or min(strides) < 1 or padding < 0:
        raise UsageError("dilation and stride must be >= 1 and padding >= 0")
    i, j = at
    if i < 0 or j < 0:
        raise UsageError(f"--at takes output indices >= 0, got {i},{j}")
    jumps = [1]
    for s in strides:
        jumps.append(jumps[-1] * s)
    size = 1 + sum(d * (kernel - 1) * jumps[layer] for layer, d in enumerate(dilations))
    pad_total = sum(padding * jumps[layer] for layer in range(layers))
    jump = jumps[-1]
    offs = offsets(kernel, dilations, strides)
    assert offs[-1] == size - 1

    def span(o):
        return [o * jump - pad_total, o * jump - pad_total + size - 1]

    same = len(set(dilations)) == 1 and len(set(strides)) == 1
    if same and strides[0] == 1:
        size_formula = f"1 + L·D·(K−1) = 1 + {layers}·{dilations[0]}·{kernel - 1} = {size}"
    elif same:
        size_formula = (f"1 + D·(K−1)·(S^L − 1)/(S − 1) = 1 + {dilations[0]}·{kernel - 1}·"
                        f"({strides[0]}^{layers} − 1)/({strides[0]} − 1) = {size}")
    else:
        size_formula = "1 + Σ_l D_l·(K−1)·S_1⋯S_{l−1} = 1 + " + " + ".join(
            f"{d}·{kernel - 1}·{jumps[layer]}" for layer, d in enumerate(dilations)) + f" = {size}"
    start = (f"{jump}·i" if jump > 1 else "i") + (f" − {pad_total}" if pad_total else "")
    return {
        "layers": layers, "kernel": kernel, "dilation": dilations, "stride": strides, "padding": padding,
        "effective_kernel": [d * (kernel - 1) + 1 for d in dilations],
        "size": size, "size_formula": size_formula, "jump": jump, "padding_total": pad_total,
        "range_formula": f"rows [{start}, {start} + {size - 1}], columns the same with j",
        "at": [i, j], "rows": span(i), "cols": span(j),
        "origin": {"rows": span(0), "cols": span(0)},
        "pixels_reached": len(offs) ** 2, "pixels_in_field": size * size,
        "offsets": offs,
    }


def format_result(r: dict) -> str:
    i, j = r["at"]
    d = r["dilation"][0] if len(set(r["dilation"])) == 1 else r["dilation"]
    s = r["stride"][0] if len(set(r["stride"])) == 1 else r["stride"]
    lines = [
        f"{r['layers']} layers, kernel {r['kernel']}x{r['kernel']}, dilation {d}, stride {s}, padding {r['padding']}",
        f"effective kernel per layer: {r['effective_kernel']}",
        f"receptive field: {r['size']}x{r['size']}   ({r['size_formula']})",
        f"output (i, j) sees input {r['range_formula']}",
        f"output (0, 0) sees rows {r['origin']['rows']}, columns {r['origin']['cols']}",
        *([f"output ({i}, {j}) sees rows {r['rows']}, columns {r['cols']}"] if (i, j) != (0, 0) else []),
        f"pixels actually connected: {r['pixels_reached']} of {r['pixels_in_field']} (1-D offsets {r['offsets']})",
    ]
    if r["padding_total"]:
        lines.append("(negative indices and indices past the input edge are zero padding)")
    return "\n".join(lines)


def conv_output(size: int, kernel: int, filters: int, dilation: int = 1, stride: int = 1, padding: int = 0,
                channels: int = 3) -> dict:
    """Output of one Conv2d on a size x size x channels input, and its parameter count."""
    if min(size, kernel, filters, dilation, stride, channels) < 1 or padding < 0:
        raise UsageError("input, kernel, filters, dilation, stride and channels must be >= 1 and padding >= 0")
    k_eff = dilation * (kernel - 1) + 1
    out = (size + 2 * padding - k_eff) // stride + 1
    if out < 1:
        raise UsageError(f"a {kernel}x{kernel} kernel with dilation {dilation} spans {k_eff} pixels, more than the "
                         f"{size}+2·{padding} padded input: the output would be empty")
    params = kernel * kernel * channels * filters + filters
    return {"output": [out, out, filters], "params": params, "effective_kernel": k_eff,
            "size_formula": f"floor(({size} + 2·{padding} − {dilation}·({kernel} − 1) − 1)/{stride}) + 1 = {out}",
            "params_formula": f"{kernel}·{kernel}·{channels}·{filters} + {filters} = {params}"}
