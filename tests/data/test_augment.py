"""cnnlab.data.augment: batch augmentation on the device (crop, flip, affine, erase) and `apply`, the training
loop's entry point. Each transform is checked for what it is (a translation, a mirror, a rotation/scaling about the
centre, one zeroed rectangle), for shape and value range, for the identity at zero strength, and for drawing the
same batch from the same generator seed."""

import math

import pytest
import torch

from cnnlab.data import augment

N, C, H, W = 64, 1, 28, 28
FULL = {"crop_pad": 3, "flip": True, "degrees": 15.0, "scale": 0.1, "erase": 0.5}


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def batch(n: int = N, c: int = C, seed: int = 0) -> torch.Tensor:
    """Random images in [0, 1] with a margin of zeros, as a 28×28 digit has."""
    x = torch.rand(n, c, H, W, generator=gen(100 + seed))
    x[..., :4, :] = x[..., -4:, :] = x[..., :, :4] = x[..., :, -4:] = 0
    return x


def shifted(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """x moved by (dy, dx) pixels, zeros coming in: out[i, j] = x[i + dy, j + dx]."""
    out = torch.zeros_like(x)
    h, w = x.shape[-2:]
    out[..., max(0, -dy):h - max(0, dy), max(0, -dx):w - max(0, dx)] = \
        x[..., max(0, dy):h - max(0, -dy), max(0, dx):w - max(0, -dx)]
    return out


@pytest.mark.parametrize("cfg", [FULL, {"crop_pad": 4, "flip": True}, {"degrees": 10.0, "scale": 0.08},
                                 {"erase": 0.25}],
                         ids=["all", "crop+flip", "affine", "erase"])
@pytest.mark.parametrize("c", [1, 3])
def test_apply_keeps_shape_dtype_and_range(cfg, c):
    x = batch(c=c)
    y = augment.apply(x.clone(), cfg, gen())
    assert y.shape == x.shape and y.dtype == x.dtype
    assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0
    assert not torch.equal(y, x)  # it did something
    # channels_last input (what the training loop passes) gives the same values
    z = augment.apply(x.clone().contiguous(memory_format=torch.channels_last), cfg, gen())
    assert torch.allclose(z, y, atol=1e-6)


def test_zero_strength_is_the_identity():
    x = batch()
    assert torch.equal(augment.apply(x, {}, gen()), x)
    assert torch.equal(augment.apply(x, {"crop_pad": 0, "flip": False, "degrees": 0.0, "scale": 0.0, "erase": 0.0},
                                     gen()), x)
    assert torch.equal(augment.random_crop(x, 0, gen()), x)
    assert torch.equal(augment.random_flip(x, gen(), p=0.0), x)
    assert torch.equal(augment.random_affine(x, gen(), 0.0, 0.0), x)
    assert torch.equal(augment.random_erase(x, gen(), p=0.0), x)
    # the sampling grid at the identity (a rotation and scaling too small to matter) gives the image back
    assert torch.allclose(augment.random_affine(x, gen(), 1e-6, 1e-6), x, atol=1e-4)


def test_same_seed_same_batch_other_seed_other_batch():
    x = batch()
    a, b, c = (augment.apply(x.clone(), FULL, gen(s)) for s in (7, 7, 8))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    for f in (lambda g: augment.random_crop(x, 3, g), lambda g: augment.random_flip(x, g),
              lambda g: augment.random_affine(x, g, 15.0, 0.1), lambda g: augment.random_erase(x, g, 0.5)):
        assert torch.equal(f(gen(3)), f(gen(3))) and not torch.equal(f(gen(3)), f(gen(4)))


def test_crop_is_an_integer_translation_within_the_padding():
    x = batch()
    pad = 3
    y = augment.random_crop(x, pad, gen())
    moves = set()
    for i in range(N):
        found = [(dy, dx) for dy in range(-pad, pad + 1) for dx in range(-pad, pad + 1)
                 if torch.equal(y[i], shifted(x[i], dy, dx))]
        assert found, f"image {i} is not x moved by at most {pad} pixels"
        moves.add(found[0])
    assert len(moves) > 10  # many different offsets across the batch
    # reflect padding fills the border from the image instead of zeros
    ones = torch.ones(8, 1, 10, 10)
    assert torch.equal(augment.random_crop(ones, 2, gen(), mode="reflect"), ones)
    assert (augment.random_crop(ones, 2, gen()) == 0).any()


def test_flip_mirrors_about_half_of_the_images():
    x = batch(200)
    y = augment.random_flip(x, gen())
    flipped = [torch.equal(y[i], x[i].flip(-1)) for i in range(200)]
    kept = [torch.equal(y[i], x[i]) for i in range(200)]
    assert all(f or k for f, k in zip(flipped, kept))
    assert 60 < sum(flipped) < 140  # p = 0.5
    assert torch.equal(augment.random_flip(x, gen(), p=1.0), x.flip(-1))


def blob(n: int, size: int = 41, sigma_y: float = 4.0, sigma_x: float = 4.0) -> torch.Tensor:
    """A Gaussian blob at the centre of every image."""
    r = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    img = torch.exp(-(r[:, None] ** 2) / (2 * sigma_y ** 2) - (r[None, :] ** 2) / (2 * sigma_x ** 2))
    return img.expand(n, 1, size, size).clone()


def second_moments(x: torch.Tensor) -> torch.Tensor:
    """Per image: (var_y, var_x, cov_yx) of the pixel mass about the centre."""
    size = x.shape[-1]
    r = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    m = x[:, 0].double()
    total = m.sum((1, 2))
    vy = (m * r[None, :, None] ** 2).sum((1, 2)) / total
    vx = (m * r[None, None, :] ** 2).sum((1, 2)) / total
    cyx = (m * r[None, :, None] * r[None, None, :]).sum((1, 2)) / total
    return torch.stack([vy, vx, cyx], 1)


def test_affine_rotates_and_scales_about_the_centre():
    # scaling only: a round blob stays round and centred, its size changes by a factor in [1 - s, 1 + s]
    x = blob(100)
    y = augment.random_affine(x, gen(), degrees=0.0, scale=0.2)
    m0, m = second_moments(x)[0], second_moments(y)
    factor = (m[:, 0] / m0[0]).sqrt()
    assert float(factor.min()) > 0.8 - 0.02 and float(factor.max()) < 1.2 + 0.02
    assert float(factor.max() - factor.min()) > 0.2  # the factors vary across the batch
    assert torch.allclose(m[:, 0], m[:, 1], rtol=1e-3) and float(m[:, 2].abs().max()) < 1e-3
    # rotation only: an elongated blob keeps its size and turns by at most `degrees`
    x = blob(100, sigma_y=8.0, sigma_x=3.0)
    y = augment.random_affine(x, gen(), degrees=30.0, scale=0.0)
    m0, m = second_moments(x)[0], second_moments(y)
    assert torch.allclose(m[:, 0] + m[:, 1], m0[0] + m0[1], rtol=0.01)  # trace: invariant under rotation
    angle = 0.5 * torch.atan2(2 * m[:, 2], m[:, 0] - m[:, 1])  # of the long axis from vertical
    assert float(angle.abs().max()) < math.radians(30 + 1)
    assert float(angle.abs().max()) > math.radians(20) and float(angle.min()) < 0 < float(angle.max())
    # the centre of mass stays at the centre
    size = x.shape[-1]
    r = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    cy = (y[:, 0] * r[None, :, None]).sum((1, 2)) / y[:, 0].sum((1, 2))
    assert float(cy.abs().max()) < 0.05


def test_erase_zeroes_one_rectangle_in_about_p_of_the_images():
    x = torch.ones(400, 1, H, W)
    y = augment.random_erase(x, gen(), p=0.5, max_frac=0.33)
    erased = 0
    for i in range(400):
        zero = (y[i, 0] == 0).nonzero()
        if len(zero) == 0:
            assert torch.equal(y[i], x[i])
            continue
        erased += 1
        (y0, x0), (y1, x1) = zero.min(0).values.tolist(), zero.max(0).values.tolist()
        h, w = y1 - y0 + 1, x1 - x0 + 1
        assert len(zero) == h * w, "the zeros form one filled rectangle"
        assert 1 <= h <= int(0.33 * H) + 1 and 1 <= w <= int(0.33 * W) + 1
        assert (y[i] != 0).sum() == H * W - h * w and (y[i][y[i] != 0] == 1).all()  # the rest is untouched
    assert 150 < erased < 250  # p = 0.5
    assert (augment.random_erase(x, gen(), p=1.0) == 0).flatten(1).any(1).all()
