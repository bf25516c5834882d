"""cnnlab.theory: every calculator checked against real torch modules or autograd."""

import argparse
import gzip
import json
import math
import random

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.errors import UsageError
from cnnlab.theory import conv1d, layers, losses
from cnnlab.theory import receptive_field as rf
from cnnlab.theory.cli import register


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Small tensors gain nothing from threads, and on a shared 2-core machine extra threads only wait."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def cli(argv, capsys):
    p = argparse.ArgumentParser()
    register(p.add_subparsers())
    args = p.parse_args(["theory", *argv])
    code = args.func(args)
    return code, capsys.readouterr().out


# ---------------------------------------------------------------------------------------------------------------
# 1. layer tables

CLASSIC = "CONV3-8 ReLU POOL-2 CONV3-16 ReLU POOL-2 FLATTEN FC-10"
SPECS = [
    ("32x32x3", CLASSIC),
    ("32x32x3", "CONV3-8 BATCHNORM ReLU POOL-2 CONV3-16 BATCHNORM ReLU POOL-2 FLATTEN FC-10"),
    ("32x32x3", "CONV3-8, BATCHNORM, ReLU, POOL-2, CONV3-16, BATCHNORM, ReLU, POOL-2, FLATTEN, FC-64, BATCHNORM, "
                "ReLU, DROPOUT, FC-10"),
    ("28x28x1", "CONV5-6(1,0) -> ReLU -> POOL-2 -> CONV5-16(1,0) -> ReLU -> POOL-2 -> FC-120 -> FC-84 -> FC-10"),
    ("37x29x2", "CONV3-4(2) PReLU CONV7-5(3,2) ELU POOL-3 DROPOUT-0.2 FLATTEN FC-3 GELU"),
    ("64x64x3", "conv3-16(1,1) selu pool2 conv1-4(1,0) leakyrelu batchnorm fc-7"),
]


@pytest.mark.parametrize("shape,spec", SPECS)
def test_layer_table_matches_torch(shape, spec):
    torch.manual_seed(0)
    result = layers.summary(spec, shape)
    net = layers.build_torch(spec, shape)
    h, w, c = layers.parse_input(shape)
    x = torch.randn(2, c, h, w)
    assert len(net) == len(result["layers"]) == len(layers.tokenize(spec))
    for module, row in zip(net, result["layers"]):
        x = module(x)
        expected = list(x.shape[1:]) if x.dim() == 2 else [x.shape[2], x.shape[3], x.shape[1]]
        assert row["output"] == expected, row
        assert row["params"] == sum(p.numel() for p in module.parameters() if p.requires_grad), row
        stats = sum(b.numel() for n, b in module.named_buffers() if n.endswith(("running_mean", "running_var")))
        assert row["non_trainable"] == stats, row
    assert result["total_params"] == sum(p.numel() for p in net.parameters())
    assert result["total_non_trainable"] == sum(row["non_trainable"] for row in result["layers"])


def test_classic_assignment_table(capsys):
    """INPUT 32x32x3 -> CONV3-8 ReLU POOL-2 CONV3-16 ReLU POOL-2 FLATTEN FC-10 (the answers, also checked above)."""
    code, out = cli(["layers", "--input", "32x32x3", CLASSIC, "--json"], capsys)
    r = json.loads(out)
    assert code == 0
    assert [row["output"] for row in r["layers"]] == [[32, 32, 8], [32, 32, 8], [16, 16, 8], [16, 16, 16],
                                                       [16, 16, 16], [8, 8, 16], [1024], [10]]
    assert [row["params"] for row in r["layers"]] == [224, 0, 0, 1168, 0, 0, 0, 10250]
    assert r["total_params"] == 11642 == sum(p.numel() for p in layers.build_torch(CLASSIC, "32x32x3").parameters())
    bn = layers.summary(CLASSIC.replace("ReLU", "BATCHNORM ReLU"), "32x32x3")
    assert bn["total_params"] == 11642 + 2 * 8 + 2 * 16 and bn["total_non_trainable"] == 2 * 8 + 2 * 16
    code, out = cli(["layers", "--input", "32x32x3", CLASSIC], capsys)
    assert "11642" in out and "FC-10" in out


def test_layer_tokens():
    assert layers.tokenize("CONV3-8(2,0), ReLU->POOL-2  FC-10") == ["CONV3-8(2,0)", "ReLU", "POOL-2", "FC-10"]
    assert layers.tokenize("CONV3-8 (2,0)") == ["CONV3-8(2,0)"]
    conv = layers.parse_token("CONV5-16")
    assert conv.args == {"kernel": 5, "filters": 16, "stride": 1, "padding": 1}


@pytest.mark.parametrize("shape,spec,words", [
    ("32x32x3", "CONV3-8 RELUX", ["'RELUX'", "CONVx-N(S,P)", "POOL-n", "FC-N"]),
    ("32x32x3", "CONV-8", ["'CONV-8'", "accepted forms"]),
    ("8x8x3", "POOL-2 POOL-2 POOL-4", ["'POOL-4'", "empty"]),
    ("4x4x1", "CONV7-2(1,0)", ["'CONV7-2(1,0)'", "empty"]),
    ("32x32x3", "FLATTEN CONV3-8", ["'CONV3-8'", "HxWxC"]),
    ("32x32", "FC-10", ["32x32", "HxWxC"]),
    ("32x32x3", " , ", ["empty"]),
])
def test_layer_errors(shape, spec, words):
    with pytest.raises(UsageError) as e:
        layers.summary(spec, shape)
    for word in words:
        assert word in str(e.value)


# ---------------------------------------------------------------------------------------------------------------
# 2. receptive field, 3. conv output

def _input_gradient(layers_, kernel, dilations, strides, padding, n, at):
    convs = nn.Sequential(*[nn.Conv2d(1, 1, kernel, stride=s, dilation=d, padding=padding, bias=False)
                            for d, s in zip(dilations, strides)]).double()
    for conv in convs:
        nn.init.ones_(conv.weight)
    x = torch.ones(1, 1, n, n, dtype=torch.float64, requires_grad=True)
    y = convs(x)
    assert y.shape[-2] > at[0] and y.shape[-1] > at[1], "test input too small"
    y[0, 0, at[0], at[1]].backward()
    return x.grad[0, 0]


@pytest.mark.parametrize("L,K,D,S,P,at", [
    (3, 3, 2, 1, 0, (0, 0)), (2, 3, 1, 1, 0, (3, 4)), (3, 3, 2, 2, 1, (2, 1)), (2, 5, 3, 1, 2, (1, 3)),
    (4, 2, 1, 2, 0, (1, 2)), (3, 3, [1, 2, 5], 1, 0, (2, 0)), (2, 3, [2, 3], [2, 1], 1, (3, 2)),
    (1, 7, 1, 3, 3, (2, 2)),
])
def test_receptive_field_matches_backprop(L, K, D, S, P, at):
    r = rf.receptive_field(L, K, D, S, P, at)
    n = max(r["rows"][1], r["cols"][1]) + 3
    grad = _input_gradient(L, K, r["dilation"], r["stride"], P, n, at)
    rows, cols = grad.abs().sum(1).nonzero().flatten().tolist(), grad.abs().sum(0).nonzero().flatten().tolist()
    # reached pixels = range start + offsets, minus those in the zero padding
    assert rows == [r["rows"][0] + o for o in r["offsets"] if r["rows"][0] + o >= 0]
    assert cols == [r["cols"][0] + o for o in r["offsets"] if r["cols"][0] + o >= 0]
    assert rows[-1] == r["rows"][1] and cols[-1] == r["cols"][1]
    if r["rows"][0] >= 0 and r["cols"][0] >= 0:  # field inside the input: its extent and holes are all visible
        assert r["rows"][1] - r["rows"][0] + 1 == r["size"]
        assert int((grad > 0).sum()) == r["pixels_reached"]
    if len(set(r["stride"])) == 1 and r["stride"][0] == 1 and len(set(r["dilation"])) == 1:
        assert r["size"] == 1 + L * r["dilation"][0] * (K - 1)


def test_receptive_field_cli(capsys):
    code, out = cli(["receptive-field", "--layers", "3", "--kernel", "3", "--dilation", "2", "--at", "4,5", "--json"],
                    capsys)
    r = json.loads(out)
    assert code == 0 and r["size"] == 13 and r["rows"] == [4, 16] and r["cols"] == [5, 17]
    assert r["origin"] == {"rows": [0, 12], "cols": [0, 12]}
    code, out = cli(["receptive-field", "--layers", "3", "--dilation", "1,2,5"], capsys)
    assert "17x17" in out and "289 of 289" in out
    with pytest.raises(UsageError, match="3 layers"):
        cli(["receptive-field", "--layers", "3", "--dilation", "1,2"], capsys)
    with pytest.raises(UsageError, match="--at"):
        cli(["receptive-field", "--at", "1"], capsys)


@pytest.mark.parametrize("N,K,D,M,S,P,C", [
    (32, 3, 1, 8, 1, 0, 3), (32, 3, 2, 16, 1, 0, 3), (28, 5, 2, 4, 2, 2, 1), (7, 3, 3, 2, 1, 0, 5),
    (64, 7, 1, 64, 2, 3, 3), (15, 4, 2, 3, 3, 1, 2),
])
def test_conv_output_matches_conv2d(N, K, D, M, S, P, C, capsys):
    conv = nn.Conv2d(C, M, K, stride=S, padding=P, dilation=D)
    y = conv(torch.zeros(1, C, N, N))
    r = rf.conv_output(N, K, M, D, S, P, C)
    assert r["output"] == [y.shape[2], y.shape[3], y.shape[1]]
    assert r["params"] == sum(p.numel() for p in conv.parameters()) == K * K * C * M + M
    code, out = cli(["conv-output", "--input", str(N), "--kernel", str(K), "--dilation", str(D), "--filters", str(M),
                     "--stride", str(S), "--padding", str(P), "--channels", str(C), "--json"], capsys)
    assert code == 0 and json.loads(out)["output"] == r["output"]


def test_conv_output_empty():
    with pytest.raises(UsageError, match="empty"):
        rf.conv_output(5, 3, 4, dilation=3)


# ---------------------------------------------------------------------------------------------------------------
# 4. backprop through the 1-D conv network

def reference(x, k, b, w, a, y) -> dict:
    """Q4's network built here from the assignment's statement (../shared/assignment/), with plain torch ops and
    autograd in float64: z = K x + b with K the banded matrix [[k1 k2 k3 0 0], [0 k1 k2 k3 0], [0 0 k1 k2 k3]]
    (any sizes: one row per position of the kernel), v_j = max{z_j, z_(j+1), 0}, y_hat = w . v + a,
    L = (y - y_hat)^2 / 2. Nothing from cnnlab.theory.conv1d."""
    f64 = dict(dtype=torch.float64)
    x, k, w = (torch.tensor([float(u) for u in t], **f64, requires_grad=True) for t in (x, k, w))
    b, a = (torch.tensor(float(u), **f64, requires_grad=True) for u in (b, a))
    n, t = len(x), len(k)
    K = torch.stack([torch.cat([torch.zeros(j, **f64), k, torch.zeros(n - t - j, **f64)]) for j in range(n - t + 1)])
    z = K @ x + b
    z.retain_grad()
    v = torch.stack([torch.stack([z[j], z[j + 1], torch.zeros((), **f64)]).max() for j in range(n - t)])
    v.retain_grad()
    y_hat = (w * v).sum() + a
    loss = 0.5 * (float(y) - y_hat) ** 2
    loss.backward()
    return {"z": z.tolist(), "v": v.tolist(), "y_hat": y_hat.item(), "loss": loss.item(), "dL_dv": v.grad.tolist(),
            "dL_dz": z.grad.tolist(), "dL_dw": w.grad.tolist(), "dL_da": a.grad.item(), "dL_dk": k.grad.tolist(),
            "dL_db": b.grad.item(), "dL_dx": x.grad.tolist()}


# The worked example (the CLI's default input), computed by hand from the statement:
# z = (1.1, -1.65, 2.225); v = (1.1, 2.225); y_hat = 0.77 - 0.6675 + 0.2 = 0.3025; e = y_hat - y = -0.6975;
# dL/dv = e w = (-0.48825, 0.20925); z1 wins v1 and z3 wins v2, so dL/dz = (-0.48825, 0, 0.20925);
# dL/dk_i = a1 x_i + a3 x_(i+2); dL/db = a1 + a3; dL/dx = (a1 k1, a1 k2, a1 k3 + a3 k1, a3 k2, a3 k3).
EXAMPLE_BY_HAND = {
    "z": [1.1, -1.65, 2.225], "v": [1.1, 2.225], "y_hat": 0.3025, "loss": 0.5 * 0.6975 ** 2,
    "dL_dw": [-0.6975 * 1.1, -0.6975 * 2.225], "dL_da": -0.6975, "dL_dv": [-0.48825, 0.20925],
    "dL_dz": [-0.48825, 0.0, 0.20925], "dL_dk": [-0.48825 * 3 + 0.20925 * 2, -0.48825 * 1 + 0.20925 * -1,
                                                 -0.48825 * 2 + 0.20925 * 0.5],
    "dL_db": -0.48825 + 0.20925, "dL_dx": [-0.48825 * 0.5, -0.48825 * -1.0, -0.48825 * 0.25 + 0.20925 * 0.5,
                                            0.20925 * -1.0, 0.20925 * 0.25],
}


def assert_matches(got: dict, want: dict, keys=None, tol=1e-9):
    for key in keys or want:
        assert np.allclose(got[key], want[key], atol=tol, rtol=0), (key, got[key], want[key])


def test_conv1d_worked_example(capsys):
    """The CLI's default example: its numbers are the hand computation above and the in-test reference."""
    ex = {"x": [3.0, 1.0, 2.0, -1.0, 0.5], "k": [0.5, -1.0, 0.25], "b": 0.1, "w": [0.7, -0.3], "a": 0.2, "y": 1.0}
    assert_matches(reference(**ex), EXAMPLE_BY_HAND)
    code, out = cli(["conv1d-backprop", "--json"], capsys)
    r = json.loads(out)
    assert code == 0 and r["verified"]
    assert_matches(r, EXAMPLE_BY_HAND)
    assert r["dL_dy_hat"] == pytest.approx(-0.6975)
    code, out = cli(["conv1d-backprop"], capsys)  # the text form shows the same numbers
    assert code == 0 and "verified against autograd: max abs diff" in out
    assert "dL_dz" in out and "[-0.48825, 0, 0.20925]" in out and "0.3025" in out
    # other values through the options
    other = dict(x=[1, -2, 3, 0.5, 2], k=[0.3, -0.7, 1.1], b=-0.2, w=[1.5, -0.4], a=0.3, y=2.0)
    code, out = cli(["conv1d-backprop", "--x", "1,-2,3,0.5,2", "--k", "0.3,-0.7,1.1", "--b", "-0.2", "--w", "1.5,-0.4",
                     "--a", "0.3", "--y", "2", "--json"], capsys)
    r = json.loads(out)
    assert code == 0 and r["verified"]
    assert_matches(r, reference(**other))


def test_conv1d_random_against_the_reference():
    rng = random.Random(0)
    for _ in range(60):
        t = rng.randint(1, 4)
        n = t + rng.randint(1, 5)
        case = dict(x=[rng.gauss(0, 1) for _ in range(n)], k=[rng.gauss(0, 1) for _ in range(t)], b=rng.gauss(0, 1),
                    w=[rng.gauss(0, 1) for _ in range(n - t)], a=rng.gauss(0, 1), y=rng.gauss(0, 2))
        mine = conv1d.forward_backward(**case)
        z = mine["z"]
        gaps = [abs(z[j] - z[j + 1]) for j in range(len(z) - 1)] + [abs(v) for v in z]
        assert min(gaps) > 1e-9  # no ties in random cases (the tie convention is tested below)
        assert_matches(mine, reference(**case), tol=1e-12)


def test_conv1d_ties_follow_documented_convention():
    # all z equal and positive: each pool gives its gradient to its first element
    r = conv1d.forward_backward([1] * 5, [1, 1, 1], 0.0, [2.0, 3.0], 0.0, 1.0)
    e = r["dL_dy_hat"]
    assert r["dL_dz"] == [2 * e, 3 * e, 0.0]
    assert conv1d.max_abs_diff(r, conv1d.autograd([1] * 5, [1, 1, 1], 0.0, [2.0, 3.0], 0.0, 1.0)) < 1e-12
    # a pool whose maximum is exactly 0 passes no gradient (relu'(0) = 0)
    case = dict(x=[1, -1, 0, 0, 0], k=[1, 0, 0], b=0.0, w=[1.0, 1.0], a=0.5, y=3.0)
    r = conv1d.forward_backward(**case)
    assert r["z"] == [1.0, -1.0, 0.0] and r["v"] == [1.0, 0.0] and r["dL_dz"][1:] == [0.0, 0.0]
    assert conv1d.max_abs_diff(r, conv1d.autograd(**case)) < 1e-12


def test_conv1d_general_gradients_against_autograd():
    g = torch.Generator().manual_seed(0)
    for n, t in [(5, 3), (9, 2), (12, 5), (4, 4), (7, 1)]:
        x = torch.randn(n, generator=g, dtype=torch.float64, requires_grad=True)
        k = torch.randn(t, generator=g, dtype=torch.float64, requires_grad=True)
        b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
        upstream = torch.randn(n - t + 1, generator=g, dtype=torch.float64)
        z = F.conv1d(x.view(1, 1, -1), k.view(1, 1, -1), b).view(-1)
        (z * upstream).sum().backward()  # so dL/dz = upstream
        assert torch.allclose(torch.tensor(conv1d.conv1d(x.tolist(), k.tolist(), 0.0), dtype=torch.float64), z)
        mine = conv1d.conv1d_grads(x.tolist(), k.tolist(), upstream.tolist())
        assert np.allclose(mine["dL_dk"], k.grad.tolist(), atol=1e-12)
        assert np.allclose(mine["dL_dx"], x.grad.tolist(), atol=1e-12)
        assert abs(mine["dL_db"] - b.grad.item()) < 1e-12


def test_conv1d_mismatch_exits_1(capsys, monkeypatch):
    real = conv1d.autograd

    def wrong(**case):
        r = real(**case)
        return dict(r, dL_dk=[v + 1e-3 for v in r["dL_dk"]])

    monkeypatch.setattr(conv1d, "autograd", wrong)
    code, out = cli(["conv1d-backprop"], capsys)
    assert code == 1 and "MISMATCH" in out


def test_conv1d_errors(capsys):
    with pytest.raises(UsageError, match="--w needs 2 values"):
        cli(["conv1d-backprop", "--w", "1,2,3"], capsys)
    with pytest.raises(UsageError, match="not a number"):
        cli(["conv1d-backprop", "--x", "1,2,a,4,5"], capsys)


# ---------------------------------------------------------------------------------------------------------------
# 5. losses

def test_losses_against_torch_and_numpy():
    rng = np.random.default_rng(0)
    for n in (2, 5, 17, 100):
        t, p = rng.normal(3, 2, n), rng.normal(3, 2, n)
        r = losses.regression_losses(t.tolist(), p.tolist())
        mse = F.mse_loss(torch.tensor(p), torch.tensor(t)).item()
        rmse = math.sqrt(mse)
        assert r["mse"] == pytest.approx(mse, rel=1e-12)
        assert r["rmse"] == pytest.approx(rmse, rel=1e-12)
        assert r["nrmse_range"] == pytest.approx(rmse / np.ptp(t), rel=1e-12)
        assert r["nrmse_mean"] == pytest.approx(rmse / t.mean(), rel=1e-12)
        assert r["rrmse"] == pytest.approx(rmse / t.mean(), rel=1e-12)
        assert r["nrmse_std"] == pytest.approx(rmse / t.std(), rel=1e-12)
        q1, q3 = np.percentile(t, [25, 75])
        assert r["nrmse_iqr"] == pytest.approx(rmse / (q3 - q1), rel=1e-12)
        assert r["rmsre"] == pytest.approx(np.sqrt(np.mean(((t - p) / t) ** 2)), rel=1e-12)
        assert r["undefined"] == {}


def test_losses_undefined_and_errors(capsys):
    code, out = cli(["losses", "--y-true", "2,2,2", "--y-pred", "1,2,3", "--json"], capsys)
    r = json.loads(out)
    assert code == 0 and r["mse"] == pytest.approx(2 / 3)
    assert r["nrmse_range"] is None and r["nrmse_std"] is None and r["nrmse_iqr"] is None
    assert "equal" in r["undefined"]["nrmse_range"] and r["nrmse_mean"] == pytest.approx(math.sqrt(2 / 3) / 2)
    r = losses.regression_losses([-1, 0, 1], [0, 0, 0])
    assert r["nrmse_mean"] is None and r["rrmse"] is None and r["rmsre"] is None
    assert "mean(y_true) is 0" in r["undefined"]["rrmse"] and "position(s) [1]" in r["undefined"]["rmsre"]
    code, out = cli(["losses", "--y-true=-1,0,1", "--y-pred", "0,0,0"], capsys)
    assert "rmsre        undefined" in out and "note: rmsre is undefined" in out
    with pytest.raises(UsageError, match="3 values but --y-pred has 2"):
        cli(["losses", "--y-true", "1,2,3", "--y-pred", "1,2"], capsys)
    with pytest.raises(UsageError, match="'x' is not a number"):
        cli(["losses", "--y-true", "1,x", "--y-pred", "1,2"], capsys)


# ---------------------------------------------------------------------------------------------------------------
# 6. activations, 7. demos

def test_activation_properties_and_files(tmp_path, capsys):
    from cnnlab.theory import activations

    # autograd derivatives of torch's modules equal central finite differences away from the kink
    x = torch.tensor([-2.0, -0.5, 0.3, 1.7], dtype=torch.float64)
    for name in ("ReLU", "LeakyReLU", "PReLU", "RReLU (eval)", "ELU", "SELU", "GELU"):
        m = activations.make(name).double()
        _, _, g = activations.value_and_grad(m, x)
        with torch.no_grad():
            fd = (m(x + 1e-6) - m(x - 1e-6)) / 2e-6
        assert torch.allclose(g, fd, atol=1e-6), name

    code, out = cli(["activations", "--out", str(tmp_path), "--no-timing"], capsys)
    assert code == 0
    props = json.loads((tmp_path / "activations.json").read_text())
    assert (tmp_path / "activations.png").stat().st_size > 10_000
    md = (tmp_path / "activations.md").read_text()
    assert all(f"| {name} |" in md for name in activations.NAMES)
    assert props["ReLU"]["zero_grad_fraction"] == pytest.approx(0.5, abs=0.01)
    assert props["ReLU"]["range"] == "[0.0000, ∞)" and props["LeakyReLU"]["range"] == "(−∞, ∞)"
    assert props["ELU"]["range"] == "(−1.0000, ∞)" and props["GELU"]["lower_bound"] == pytest.approx(-0.17, abs=0.001)
    assert props["SELU"]["mean_on_normal"] == pytest.approx(0, abs=0.01)
    assert props["SELU"]["std_on_normal"] == pytest.approx(1, abs=0.01)
    assert [n for n, p in props.items() if p["self_normalizing"] == "yes"] == ["SELU"]
    assert props["GELU"]["smoothness"] == "smooth" and props["ELU"]["smoothness"].startswith("C¹")
    assert props["SELU"]["fprime_jump_at_0"] == pytest.approx(1.0507 - 1.7581, abs=1e-3)
    assert [n for n, p in props.items() if p["dying_units"] != "no"] == ["ReLU"]
    t = activations.timings(repeats=2, size=10_000)
    assert t["ReLU"] == 1.0 and all(v > 0 for v in t.values())


def test_demos(tmp_path, capsys):
    """`theory demos`: every number checked against torch modules run here, a count made here, or a property that
    any correct module has; not against what the demo says about itself."""
    code, out = cli(["demos", "--out", str(tmp_path), "--json"], capsys)
    r = json.loads(out)
    assert code == 0 and json.loads((tmp_path / "demos.json").read_text()) == r
    for name in ("gridding.png", "dropout.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # dropout: the demo's draws (seed 0, p = 0.5, on ones) made again here and counted here
    torch.manual_seed(0)
    for name, shape in (("Dropout", (4, 16, 6, 6)), ("Dropout2d", (4, 16, 6, 6)), ("Dropout3d", (4, 16, 3, 6, 6))):
        y = getattr(nn, name)(0.5).train()(torch.ones(shape))
        zero = (y == 0).flatten(2)  # [sample, channel, values of that channel]
        d = r["dropout"][name]
        assert (d["values_zeroed"], d["values_total"]) == (int(zero.sum()), y.numel())
        assert d["channels_total"] == shape[0] * shape[1]
        assert d["channels_fully_zeroed"] == int(zero.all(2).sum())
        assert d["channels_partly_zeroed"] == int((zero.any(2) & ~zero.all(2)).sum())
        assert d["survivor_values"] == [2.0] and d["eval_is_identity"]  # survivors scaled by 1/(1-p)
    d = r["dropout"]
    assert d["Dropout"]["channels_partly_zeroed"] > 0.9 * d["Dropout"]["channels_total"]  # single values
    for name in ("Dropout2d", "Dropout3d"):  # whole channels, about half of them
        assert d[name]["channels_partly_zeroed"] == 0 and 16 < d[name]["channels_fully_zeroed"] < 48
    # batch norm: learnable gamma and beta are the module's parameters, the running statistics its buffers
    bn = nn.BatchNorm2d(3)
    b = r["batchnorm"]
    assert set(b["learnable"]) == {n for n, _ in bn.named_parameters()} == {"weight", "bias"}
    assert set(b["buffers"]) == {n for n, _ in bn.named_buffers()}
    assert all(v["requires_grad"] and v["shape"] == [3] for v in b["learnable"].values())
    # in training, every channel's output has mean beta and standard deviation gamma, whatever the input
    gamma, beta = b["learnable"]["weight"]["value"], b["learnable"]["bias"]["value"]
    assert np.allclose(b["train_output_mean"], beta, atol=1e-9)
    assert np.allclose(b["train_output_std"], gamma, rtol=1e-3)
    # running statistics after 3 batches of N(shift, scale^2) data from (mean 0, var 1), momentum 0.1: in
    # expectation 0.271 shift and 0.729 + 0.271 scale^2 (tolerances: 5 standard errors of 3 batches of 128)
    shift, scale, kept = np.array([5.0, -3.0, 0.5]), np.array([2.0, 0.5, 1.0]), 0.9 ** 3
    assert np.allclose(b["batch_mean_of_inputs"], shift) and np.allclose(b["batch_std_of_inputs"], scale)
    assert np.allclose(b["running_mean"], (1 - kept) * shift, atol=0.15)
    assert np.allclose(b["running_var"], kept + (1 - kept) * scale ** 2, rtol=0.25)
    assert np.allclose(b["running_mean"], b["running_mean_by_hand"], atol=1e-12)  # the hand formulas agree
    assert np.allclose(b["running_var"], b["running_var_by_hand"], atol=1e-12)
    assert b["max_abs_diff_train_vs_eval"] > 0.1  # eval uses the running statistics, not the batch's
    # gridding: the input offsets one output of three 3x3 convolutions reaches, counted here as sets
    for g in r["gridding"].values():
        offsets = {0}
        for dilation in g["dilations"]:
            offsets = {o + dilation * s for o in offsets for s in (-1, 0, 1)}
        field = 1 + 2 * sum(g["dilations"])
        assert (g["field"], g["pixels_in_field"], g["pixels_reached"]) == (field, field ** 2, len(offsets) ** 2)
        assert g["field"] == rf.receptive_field(3, 3, g["dilations"])["size"]
    assert r["gridding"]["2,2,2"]["pixels_reached"] == 49 < r["gridding"]["2,2,2"]["pixels_in_field"]
    assert r["gridding"]["1,2,5"]["pixels_reached"] == r["gridding"]["1,2,5"]["pixels_in_field"]
    code, out = cli(["demos"], capsys)
    assert "Dropout2d" in out and "dilations 1,2,5" in out


# ---------------------------------------------------------------------------------------------------------------
# 8. autoencoder

def test_autoencoder_learns_synthetic_shapes():
    from cnnlab.theory import autoencoder as ae

    images = ae.synthetic_shapes(400, seed=0)
    train, test = images[:320], images[320:]
    torch.manual_seed(0)
    before = ae.mse(ae.ConvAutoencoder(), test, test)
    model, history = ae.train(train, steps=200, batch_size=32, seed=0, log_every=50)
    after = ae.mse(model, test, test)
    noisy = ae.add_noise(test, 0.3, torch.Generator().manual_seed(1))
    assert after < 0.35 * before, (before, after)
    assert ae.mse(model, noisy, test) < F.mse_loss(noisy, test).item()  # it removes noise
    assert history[-1]["train_loss"] < 0.5 * history[0]["train_loss"]


def _write_idx(path, array):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_autoencoder_cli_on_emnist_files(tmp_path, capsys, monkeypatch):
    from cnnlab.theory import autoencoder as ae

    monkeypatch.setenv("CNNLAB_CACHE_DIR", str(tmp_path / "cache"))
    data = tmp_path / "emnist"
    data.mkdir()
    (data / "emnist-byclass-mapping.txt").write_text("0 48\n1 49\n")
    for split, n in (("train", 72), ("test", 16)):
        images = (ae.synthetic_shapes(n, seed=len(split)) * 255).round().numpy()[:, 0].transpose(0, 2, 1)
        _write_idx(data / f"emnist-byclass-{split}-images-idx3-ubyte.gz", images)
        _write_idx(data / f"emnist-byclass-{split}-labels-idx1-ubyte.gz", np.arange(n) % 2)
    out = tmp_path / "ae"
    code, text = cli(["autoencoder", "--out", str(out), "--data", str(data), "--epochs", "2", "--batch-size", "16"],
                     capsys)
    r = json.loads((out / "autoencoder.json").read_text())
    assert code == 0 and "test MSE reconstruction" in text
    # 2 epochs of 72 images in batches of 16: 5 batches an epoch (the last one smaller)
    assert r["train_images"] == 72 and r["test_images"] == 16 and r["steps"] == 10 and r["history"][-1]["step"] == 10
    assert r["parameters"] == sum(p.numel() for p in ae.ConvAutoencoder().parameters())
    assert r["code_size"] == 4 * 7 * 7
    assert all(math.isfinite(r[k]) for k in ("mse_untrained", "mse_reconstruction", "mse_noisy_input", "mse_denoised"))
    for name in ("reconstructions.png", "denoising.png", "autoencoder.pt"):
        assert (out / name).stat().st_size > 1000


def test_through_the_main_cli(capsys):
    from cnnlab.cli import main

    assert main(["theory", "conv-output", "--input", "32", "--kernel", "3", "--dilation", "2", "--filters", "16"]) == 0
    assert "28x28x16" in capsys.readouterr().out
    assert main(["theory", "layers", "--input", "32x32x3", "CONV3-8", "FOO"]) == 2
    assert "error: bad layer token 'FOO'" in capsys.readouterr().err
    assert main(["theory", "losses", "--y-true", "1,2", "--y-pred", "1"]) == 2
    assert "--y-pred has 1" in capsys.readouterr().err
