"""`tn.gradcheck` (gradcheck.py): passes on correct ops, catches wrong backwards, rejects bad arguments."""

from __future__ import annotations

import pytest
import torch

import tinygrad_n2n as tn
from tests.helpers import away_from_zero, positive, randn
from tinygrad_n2n import functional as F
from tinygrad_n2n.ops.function import Function


def leaf(data: torch.Tensor) -> tn.Tensor:
    return tn.Tensor(data, requires_grad=True)


class Square(Function):
    """y = x²; dy/dx = 2x, times `factor` (1 is correct, anything else a deliberately wrong backward)"""

    factor = 1.0

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * 2 * x * Square.factor


class WrongDivisor(Function):
    """z = x / y; dz/dx = 1 / y is right, dz/dy = +x / y² has the wrong sign (should be -x / y²)"""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x / y

    @staticmethod
    def backward(ctx, grad_out):
        x, y = ctx.saved_tensors
        return grad_out / y, grad_out * x / (y * y)


class NanBackward(Function):
    """y = 3x; backward deliberately returns NaN"""

    @staticmethod
    def forward(ctx, x):
        return 3 * x

    @staticmethod
    def backward(ctx, grad_out):
        return torch.full_like(grad_out, torch.nan)


@pytest.fixture
def square_factor():
    """Set Square's backward factor for one test, then restore the correct one."""
    yield lambda factor: setattr(Square, "factor", factor)
    Square.factor = 1.0


# ---------------------------------------------------------------- correct ops pass


def r(*shape: int, seed: int = 0) -> tn.Tensor:
    """A standard-normal leaf."""
    return leaf(randn(*shape, seed=seed))


def p(*shape: int, seed: int = 0) -> tn.Tensor:
    """A leaf with values in [0.5, 2.5)."""
    return leaf(positive(*shape, seed=seed))


def z(*shape: int, seed: int = 0) -> tn.Tensor:
    """A leaf with |values| in [0.5, 2.5), random signs (away from the kinks at 0)."""
    return leaf(away_from_zero(*shape, seed=seed))


OPS = {  # every public differentiable op, at least once (values away from kinks: abs, relu, clamp, max)
    "add-sub-broadcast": (lambda a, b: a + b - b * 2, [r(2, 3), r(3, seed=1)]),
    "mul-div-neg": (lambda a, b: -(a * b) / b.exp() + a / b, [r(2, 3), z(2, 1, seed=1)]),
    "pow-tensor-and-scalar": (lambda a, b: a**b + a**3 + 2**b, [p(2, 3), r(3, seed=1)]),
    "matmul-2d-vector-batched": (lambda a, b, v: (a @ b) @ v, [r(2, 2, 3), r(3, 4, seed=1), r(4, seed=2)]),
    "getitem-basic-int-bool": (lambda a: a[1:, ::2] + a[[0, 0], 1:3] + a[a.data[:2] > 0].sum(), [r(2, 4)]),
    "reshape-view-flatten": (lambda a: a.reshape(3, 2).view(6, 1).flatten(), [r(2, 3)]),
    "transpose-permute-T": (lambda a: a.transpose(0, 2).permute(1, 0, 2).T, [r(2, 3, 4)]),
    "squeeze-unsqueeze-expand": (lambda a: a.unsqueeze(0).squeeze(2).expand(2, 3), [r(3, 1)]),
    "sum-mean-dims": (lambda a: a.sum(1) + a.mean(dim=(0, 1), keepdim=True).sum(2) + a.mean(), [r(2, 3, 4)]),
    "max-min": (lambda a: a.max(dim=1).values + a.min(dim=0, keepdim=True).values[0, :3] + a.max(), [r(3, 4)]),
    "exp-log-sqrt": (lambda a: a.exp() + a.log() * a.sqrt(), [p(4)]),
    "abs-relu-tanh-sigmoid": (lambda a: a.abs() + a.relu() * a.tanh() + a.sigmoid(), [z(5)]),
    "clamp-maximum": (lambda a, b: a.clamp(-1, 1) + a.clamp(min=0.3) + a.maximum(b), [r(6), r(6, seed=1)]),
    "to-cpu-double": (lambda a: a.to(torch.float64).cpu().double() * 2, [r(3)]),
    "cat-stack": (lambda a, b: tn.cat([a, b], 1)[:, 1:4] * tn.stack([a, b], 2)[..., 1], [r(2, 3), r(2, 3, seed=1)]),
    "pad-and-crop": (lambda a: F.pad(a, (1, 2, -1, 0), value=0.5), [r(2, 3, 4)]),
    "conv2d-bias-stride-padding": (
        lambda x, w, b: F.conv2d(x, w, b, stride=(1, 2), padding=1),
        [r(1, 2, 4, 4), r(2, 2, 3, 3, seed=1), r(2, seed=2)],
    ),
    "conv2d-grouped-dilated": (
        lambda x, w: F.conv2d(x, w, dilation=2, groups=2),
        [r(1, 2, 5, 5), r(2, 1, 2, 2, seed=1)],
    ),
    "conv_transpose2d": (
        lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
        [r(1, 2, 3, 2), r(2, 1, 3, 3, seed=1), r(1, seed=2)],
    ),
    "upsample_conv2d": (
        lambda x, w, b: F.upsample_conv2d(x, w, b, scale_factor=2),
        [r(1, 2, 2, 3), r(2, 2, 3, 3, seed=1), r(2, seed=2)],
    ),
    "upsample_nearest-max_pool2d": (lambda x: F.max_pool2d(F.upsample_nearest(x, (2, 1)), 3, 2, 1), [r(1, 1, 3, 3)]),
    "avg_pool2d": (lambda x: F.avg_pool2d(x, 3, 2, padding=1, count_include_pad=False), [r(1, 2, 4, 5)]),
    "linear": (lambda x, w, b: F.linear(x, w, b), [r(2, 3), r(4, 3, seed=1), r(4, seed=2)]),
    "F-activations": (lambda x: F.relu(x) + F.leaky_relu(x, 0.2) + F.sigmoid(x) * F.tanh(x), [z(2, 3)]),
    "softmax-log_softmax": (lambda x: F.softmax(x, dim=1) + F.log_softmax(x, dim=0), [r(3, 4)]),
    "relu6": (lambda x: F.relu6(x * 4), [z(2, 3)]),
    "hardtanh": (lambda x: F.hardtanh(x, -0.3, 1.5), [r(2, 3)]),
    "hardsigmoid-hardswish": (lambda x: F.hardsigmoid(x * 2) + F.hardswish(x * 2), [z(2, 3)]),
    "gelu": (lambda x: F.gelu(x) + F.gelu(x, approximate="tanh"), [r(2, 3)]),
    "silu-mish": (lambda x: F.silu(x) + F.mish(x), [r(2, 3)]),
    "softplus": (lambda x: F.softplus(x) + F.softplus(x * 10, beta=0.5, threshold=2.0), [r(2, 3)]),
    "elu-selu-celu": (lambda x: F.elu(x, 0.5) + F.selu(x) + F.celu(x, 0.7), [z(2, 3)]),
    "logsigmoid": (lambda x: F.logsigmoid(x * 10), [r(2, 3)]),
    "logsumexp": (lambda x: F.logsumexp(x, 1) + F.logsumexp(x, (0, 2), keepdim=True).sum(), [r(2, 3, 2)]),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (2, 3), w, b), [r(2, 2, 3), p(2, 3, seed=1), r(2, 3, seed=2)]),
    "group_norm": (lambda x, w, b: F.group_norm(x, 2, w, b), [r(2, 4, 2), p(4, seed=1), r(4, seed=2)]),
    "batch_norm-training": (lambda x, w, b: F.batch_norm(x, None, None, w, b, True), [r(3, 2, 2), p(2), r(2, seed=1)]),
    "batch_norm-eval": (lambda x, w: F.batch_norm(x, randn(2), positive(2), w), [r(3, 2), p(2, seed=1)]),
    "instance_norm": (lambda x: F.instance_norm(x), [r(2, 2, 3)]),
    "normalize": (lambda x: F.normalize(x) + F.normalize(x, p=3.0, dim=0) + F.normalize(x, p=1.5), [r(2, 3)]),
    "cosine_similarity": (lambda a, b: F.cosine_similarity(a, b), [r(3, 4), r(4, seed=1)]),
    "smooth_l1-huber": (lambda x, y: F.smooth_l1_loss(x, y, beta=0.5) + F.huber_loss(x, y), [r(2, 3), r(2, 3, seed=1)]),
    "kl_div": (
        lambda x, t: F.kl_div(x, t, reduction="batchmean") + F.kl_div(x, t, reduction="sum", log_target=True),
        [r(2, 3), p(2, 3)],
    ),
    "binary_cross_entropy": (lambda x, t: F.binary_cross_entropy(x.sigmoid(), t), [r(2, 3), leaf(positive(2, 3) / 3)]),
    "bce_with_logits": (
        lambda x, t: F.binary_cross_entropy_with_logits(x, t, pos_weight=positive(3)),
        [r(2, 3), leaf(positive(2, 3) / 3)],
    ),
    "nll_loss": (lambda x: F.nll_loss(x, torch.tensor([0, 2, -100]), weight=positive(3)), [r(3, 3)]),
    "cross_entropy-smoothing": (lambda x: F.cross_entropy(x, torch.tensor([0, 3]), label_smoothing=0.2), [r(2, 4)]),
    "cross_entropy-probabilities": (lambda x, t: F.cross_entropy(x, t, label_smoothing=0.1), [r(3, 4), p(3, 4)]),
    "mse_loss-l1_loss": (lambda x, y: F.mse_loss(x, y) + F.l1_loss(x, y, reduction="sum"), [r(2, 3), z(2, 3, seed=1)]),
    "cross_entropy-targets-and-constant": (
        lambda x, target, scale: F.cross_entropy(x * scale, target, reduction="none"),
        [r(3, 4, 2), tn.Tensor([[0, 3], [1, 1], [2, 0]]), 0.5],
    ),
    "log1p-sin-cos-erf": (lambda x: x.log1p() + x.sin() * x.cos() + x.erf(), [p(2, 3)]),
    "sign-floor-round (zero)": (lambda x: x.sign() + x.floor() + x.round(decimals=1) + x, [leaf(randn(5) * 3 + 0.05)]),
    "amax-amin-dims": (lambda x: x.amax(1) + x.amin((0, 2)).sum(), [r(2, 3, 2)]),
    "prod-dim-and-all-with-a-zero": (
        lambda x: x.prod(1) + x.prod(),
        [leaf(torch.tensor([[1.5, 0.0, 2.0], [0.5, -1.0, 3.0]], dtype=torch.float64))],
    ),
    "cumsum": (lambda x: x.cumsum(1) * x, [r(2, 3)]),
    "var-std": (lambda x: x.var(1) + x.std(0, correction=0).sum() + x.std(), [r(3, 4)]),
    "norm-p": (lambda x: x.norm() + x.norm(1, 1) + x.norm(3, 0).sum() + x.norm(float("inf")), [z(3, 4)]),
    "clone-repeat-flip-roll": (lambda x: x.clone().repeat(2, 1, 2).flip(0, 2).roll((1, -1), (1, 2)), [r(2, 3)]),
    "scatter-index_select-gather": (
        lambda x, src: (
            x.scatter(1, torch.tensor([[2, 0], [1, 3]]), src).index_select(1, torch.tensor([3, 3, 0, 2]))
            + x.gather(1, torch.tensor([[0, 0, 1, 3], [2, 2, 2, 2]]))
        ),
        [r(2, 4), r(2, 2, seed=1)],
    ),
    "einsum-matmul-diagonal-broadcast": (
        lambda a, b, c: (
            tn.einsum("bij,jk->bik", a, b).sum() + tn.einsum("ii->i", c) + tn.einsum("...i,i", a, b[0]).sum()
        ),
        [r(2, 3, 4), r(4, 4, seed=1), r(4, 4, seed=2)],
    ),
}

OPS |= {  # torch.nn.functional's spatial ops (tinygrad_n2n.spatial)
    "conv1d-same-dilated": (
        lambda x, w, b: F.conv1d(x, w, b, padding="same", dilation=2),
        [r(1, 2, 5), r(3, 2, 2, seed=1), r(3, seed=2)],
    ),
    "conv_transpose1d": (
        lambda x, w: F.conv_transpose1d(x, w, stride=2, padding=1, output_padding=1),
        [r(1, 2, 3), r(2, 3, 2, seed=1)],
    ),
    "conv2d-same-even-kernel-unbatched": (
        lambda x, w: tn.spatial.conv2d(x, w, padding="same"),
        [r(2, 3, 4), r(2, 2, 2, 3, seed=1)],
    ),
    "conv-padding-mode-reflect": (
        lambda x, w: tn.spatial.conv_with_padding_mode(x, w, None, 1, 1, 1, 1, "reflect"),
        [r(1, 1, 3, 4), r(2, 1, 3, 3, seed=1)],
    ),
    "pad-reflect-replicate-circular": (
        lambda x: tuple(tn.spatial.pad(x, (2, 1, -1, 2), mode=mode) for mode in ("reflect", "replicate", "circular")),
        [r(1, 3, 4)],
    ),
    "interpolate-nearest-bilinear-trilinear": (
        lambda x: (
            F.interpolate(x, scale_factor=1.7),
            F.interpolate(x, size=(5, 2), mode="bilinear"),
            F.interpolate(x, scale_factor=1.5, mode="bilinear", align_corners=True),
            F.interpolate(x.unsqueeze(2), size=(2, 4, 2), mode="trilinear"),
        ),
        [r(1, 2, 3, 3)],
    ),
    "adaptive_avg_pool-area": (
        lambda x: (
            F.adaptive_avg_pool2d(x, (2, 3)),
            F.adaptive_avg_pool1d(x[0], 2),
            F.interpolate(x, size=2, mode="area"),
        ),
        [r(1, 2, 3, 4)],
    ),
    "max_pool1d-adaptive_max_pool2d": (
        lambda x: (F.max_pool1d(x[0], 2, 1, 1, ceil_mode=True), F.adaptive_max_pool2d(x, (2, 3))),
        [r(1, 2, 3, 4)],
    ),
    "avg_pool1d-ceil_mode": (lambda x: F.avg_pool1d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False), [r(1, 2, 6)]),
    "pixel_shuffle-unshuffle": (lambda x: F.pixel_unshuffle(F.pixel_shuffle(x, 2) * x.sum(), 2), [r(1, 4, 2, 1)]),
    "unfold-fold": (lambda x: F.fold(F.unfold(x, 2, padding=1) * 2, (3, 4), 2, padding=1), [r(1, 2, 3, 4)]),
    "embedding-repeated-rows": (lambda w: F.embedding(tn.Tensor([[0, 2, 2], [1, 2, 0]]), w), [r(3, 2)]),
    "dropout2d-seeded": (lambda x: (torch.manual_seed(0), F.dropout2d(x, 0.5))[1], [r(2, 4, 2, 2)]),
}

CORRECT = {
    **OPS,
    "identity": (lambda x: x, [r(3)]),
    "tuple of outputs": (lambda x: (x.sqrt(), x.log().sum()), [p(4)]),
}


@pytest.mark.parametrize("fn, inputs", CORRECT.values(), ids=CORRECT.keys())
def test_passes_on_correct_ops(fn, inputs):
    assert tn.gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3) is True


def test_own_function_with_correct_backward_passes_and_only_inputs_needing_a_gradient_are_checked():
    constant = tn.Tensor(randn(3, seed=1))
    assert tn.gradcheck(lambda x, c: Square.apply(x) * c, [leaf(randn(3)), constant])


def test_leaves_the_callers_tensors_untouched_and_accepts_float32():
    data = randn(2, 3).float()
    x = leaf(data.clone())
    assert tn.gradcheck(lambda v: v.tanh() * 2, [x], atol=1e-4)
    assert torch.equal(x.data, data) and x.gradient is None and x.dtype == torch.float32


def test_never_calls_torch_autograd(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("torch.autograd was called")

    monkeypatch.setattr(torch.autograd, "backward", forbidden)
    monkeypatch.setattr(torch.autograd, "grad", forbidden)
    monkeypatch.setattr(torch.Tensor, "backward", forbidden)
    assert tn.gradcheck(lambda x, w: F.conv2d(x, w).sigmoid(), [leaf(randn(1, 1, 3, 3)), leaf(randn(1, 1, 2, 2))])


# ---------------------------------------------------------------- wrong backwards are caught


@pytest.mark.parametrize("factor", [2.0, 0.5, -1.0, 1.01, 0.0])
def test_catches_a_backward_off_by_a_factor(square_factor, factor):
    square_factor(factor)
    with pytest.raises(tn.GradcheckError, match=r"d output\[0\] / d input\[0\] differs at output element \d"):
        tn.gradcheck(lambda x: Square.apply(x), [leaf(positive(4))])


def test_reports_the_worst_element_with_both_values(square_factor):
    square_factor(2.0)
    x = torch.tensor([1.0, -3.0, 0.5], dtype=torch.float64)
    with pytest.raises(tn.GradcheckError) as error:
        tn.gradcheck(lambda v: Square.apply(v), [leaf(x)])
    # the largest error is at element 1: backward gives 2·2·(-3) = -12, finite differences 2·(-3) = -6
    assert "output element 1, input element 1: backward gives -12, finite differences give -6" in str(error.value)


def test_catches_a_wrong_gradient_for_the_second_input_only():
    with pytest.raises(tn.GradcheckError, match=r"d output\[0\] / d input\[1\]"):
        tn.gradcheck(WrongDivisor.apply, [leaf(randn(3)), leaf(positive(3, seed=1))])


def test_catches_a_wrong_backward_inside_a_larger_graph(square_factor):
    square_factor(1.5)
    with pytest.raises(tn.GradcheckError, match=r"d output\[1\] / d input\[0\]"):
        tn.gradcheck(lambda x: (x.exp(), F.mse_loss(Square.apply(x.tanh()), x)), [leaf(randn(3))])


def test_catches_nan_gradients():
    with pytest.raises(tn.GradcheckError, match="backward gives nan"):
        tn.gradcheck(NanBackward.apply, [leaf(randn(2))])


@pytest.mark.parametrize(
    "cut",
    [lambda x: x.detach() * 2, lambda x: _under_no_grad(lambda: x * 2)],
    ids=["detach", "no_grad"],
)
def test_catches_a_graph_cut_that_loses_the_gradient(cut):
    with pytest.raises(tn.GradcheckError, match=r"backward gives 0 \(the output needs no gradient.*give 2"):
        tn.gradcheck(cut, [leaf(randn(3))])


def _under_no_grad(fn):
    with tn.no_grad():
        return fn()


# ---------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(
    "fn, inputs, options, error, message",
    [
        (lambda x: x * 2, [tn.Tensor(randn(3))], {}, ValueError, "no input requires a gradient"),
        (lambda x: x * 2, [randn(3)], {}, ValueError, "no input requires a gradient"),
        (lambda x: x * 2, [leaf(randn(3))], {"eps": 0.0}, ValueError, "need eps > 0.*got eps=0.0"),
        (lambda x: x * 2, [leaf(randn(3))], {"atol": -1e-5}, ValueError, "atol ≥ 0.*atol=-1e-05"),
        (lambda x: x.data * 2, [leaf(randn(3))], {}, TypeError, "output 0 is a torch.Tensor"),
        (lambda x: (x * 2, 3.0), [leaf(randn(3))], {}, TypeError, "output 1 is a builtins.float"),
    ],
    ids=["constant-tensor", "raw-torch-input", "zero-eps", "negative-atol", "raw-output", "number-output"],
)
def test_bad_arguments(fn, inputs, options, error, message):
    with pytest.raises(error, match=f"^gradcheck: .*{message}"):
        tn.gradcheck(fn, inputs, **options)
