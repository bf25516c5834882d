import pytest
import torch

from cnnlab.models import registry
from cnnlab.models.cnn import FactorizedConv2d
from cnnlab.models.common import count_params
from cnnlab.errors import UsageError

SHAPE = [1, 28, 28]


def build(arch, **kw):
    return registry.build(arch, 62, SHAPE, **registry.resolve(arch, 62, SHAPE, **kw))


def test_mlp_matches_cnn_within_5_percent():
    cnn, mlp = count_params(build("cnn")), count_params(build("mlp"))
    assert abs(mlp - cnn) / cnn < 0.05


@pytest.mark.parametrize("arch,budget", [("mlp", 50_000), ("mlp", 200_000), ("mlp", 1_000_000),
                                         ("cnn", 200_000), ("cnn", 1_000_000)])
def test_param_budget(arch, budget):
    # the CNN is sized by an integer channel width, so very small budgets are matched more coarsely
    n = count_params(build(arch, param_budget=budget))
    assert abs(n - budget) / budget < 0.05, n


@pytest.mark.parametrize("cin,cout,k", [(1, 32, 3), (32, 32, 3), (32, 64, 5), (64, 32, 3)])
def test_factorized_conv_params_and_shape(cin, cout, k):
    layer = FactorizedConv2d(cin, cout, k)
    mid = min(cin, cout)
    assert count_params(layer) == k * cin * mid + k * mid * cout
    assert count_params(layer) < k * k * cin * cout
    kinds = [m.kernel_size for m in layer if isinstance(m, torch.nn.Conv2d)]
    assert kinds == [(k, 1), (1, k)]
    x = torch.randn(2, cin, 14, 14)
    assert layer(x).shape == torch.nn.Conv2d(cin, cout, k, padding=k // 2)(x).shape


def test_factorized_cnn_has_no_square_kernels_and_fewer_params():
    f, c = build("cnn-factorized"), build("cnn")
    assert not any(isinstance(m, torch.nn.Conv2d) and m.kernel_size[0] == m.kernel_size[1] > 1 for m in f.modules())
    assert count_params(f) < count_params(c)
    x = torch.rand(3, *SHAPE)
    assert f(x).shape == c(x).shape == (3, 62)


def test_unknown_model():
    with pytest.raises(UsageError, match="unknown model 'resnet9000'.*cnn"):
        registry.resolve("resnet9000", 62, SHAPE)


def test_option_a_model_does_not_take():
    with pytest.raises(UsageError, match="model 'mlp' has no option width"):
        registry.build("mlp", 62, SHAPE, width=8)
