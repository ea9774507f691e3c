"""Empty tensors against torch: over generated shapes with a zero-size dim, every op and layer gives torch's
forward shapes and values and, in float64, torch.autograd's gradients (of the input's shape, zeros); where torch
refuses an empty input, the engine raises the same exception type, naming the op.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as torch_F
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import tinygrad_n2n as tn
from tests.helpers import check_op, positive, randn, same_as_torch, seeds
from tinygrad_n2n import functional as F
from tinygrad_n2n import nn
from tinygrad_n2n.n2n import models

# the op tables run one hypothesis test per op: half the profile's examples each keeps the file fast
PER_OP = settings(max_examples=max(10, settings().max_examples // 2))


@st.composite
def empty_shapes(draw, min_dims: int = 1, max_dims: int = 4) -> tuple[int, ...]:
    """A shape of sides 0 to 3 with at least one side 0."""
    shape = draw(st.lists(st.integers(0, 3), min_size=min_dims, max_size=max_dims))
    shape[draw(st.integers(0, len(shape) - 1))] = 0
    return tuple(shape)


UNARY = {  # op name (in errors) -> (engine, torch or None when the same call works on both)
    "neg": (lambda x: -x, None),
    "exp": (lambda x: x.exp(), None),
    "log": (lambda x: (x * x + 1).log(), None),
    "sqrt": (lambda x: (x * x + 1).sqrt(), None),
    "abs": (lambda x: x.abs(), None),
    "tanh": (lambda x: x.tanh(), None),
    "sigmoid": (lambda x: x.sigmoid(), None),
    "relu": (lambda x: x.relu(), None),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.1), lambda x: torch_F.leaky_relu(x, 0.1)),
    "clamp": (lambda x: x.clamp(-0.5, 0.5), None),
    "add": (lambda x: x + 1.5, None),
    "pow": (lambda x: x**2, None),
    "sum": (lambda x: x.sum(), None),
    "mean": (lambda x: x.mean(), None),
    "max": (lambda x: x.max(), None),
    "flatten": (lambda x: x.flatten(), None),
    "reshape": (lambda x: x.reshape(-1), None),
    "T": (lambda x: x.T, lambda x: x.permute(*range(x.ndim - 1, -1, -1))),
    "squeeze": (lambda x: x.squeeze(), None),
    "expand": (lambda x: x.expand(2, *x.shape), None),
    "getitem": (lambda x: x[..., 1:], None),
    "to": (lambda x: x.to(torch.float32), None),
}
PER_DIM = {  # (x, dim)
    "sum": (lambda x, d: x.sum(d), None),
    "mean": (lambda x, d: x.mean(d, keepdim=True), None),
    "max": (lambda x, d: x.max(d).values, None),
    "min": (lambda x, d: x.min(d, keepdim=True).values, None),
    "flatten": (lambda x, d: x.flatten(d), None),
    "transpose": (lambda x, d: x.transpose(d, 0), None),
    "unsqueeze": (lambda x, d: x.unsqueeze(d), None),
    "softmax": (lambda x, d: F.softmax(x, d), lambda x, d: torch.softmax(x, d)),
    "log_softmax": (lambda x, d: F.log_softmax(x, d), lambda x, d: torch.log_softmax(x, d)),
    "cat": (lambda x, d: tn.cat([x, x], d), lambda x, d: torch.cat([x, x], d)),
    "stack": (lambda x, d: tn.stack([x, x], d), lambda x, d: torch.stack([x, x], d)),
}


@pytest.mark.parametrize("op", list(UNARY))
@PER_OP
@given(shape=empty_shapes(), seed=seeds)
def test_unary_ops_and_reductions_of_empty_tensors(op, shape, seed):
    engine_fn, torch_fn = UNARY[op]
    same_as_torch(op, engine_fn, torch_fn, [randn(*shape, seed=seed)])


@pytest.mark.parametrize("op", list(PER_DIM))
@PER_OP
@given(shape=empty_shapes(), data=st.data(), seed=seeds)
def test_ops_over_each_dim_of_empty_tensors(op, shape, data, seed):
    """Including max/min over a zero-size dim (torch's IndexError) and means over nothing (nan)."""
    engine_fn, torch_fn = PER_DIM[op]
    torch_fn = torch_fn or engine_fn
    dim = data.draw(st.integers(-len(shape), len(shape) - 1), label="dim")
    same_as_torch(op, lambda x: engine_fn(x, dim), lambda x: torch_fn(x, dim), [randn(*shape, seed=seed)])


@pytest.mark.parametrize("op", ["add", "mul", "div", "maximum"])
@PER_OP
@given(shape=empty_shapes(max_dims=3), data=st.data(), seed=seeds)
def test_binary_ops_broadcast_empty_tensors(op, shape, data, seed):
    """The other operand has 1 where the empty one has 0 (broadcast), or the same shape."""
    other = tuple(data.draw(st.sampled_from([side, 1])) for side in shape)
    fns = {"add": torch.add, "mul": torch.mul, "div": torch.div, "maximum": torch.maximum}
    engine_fns = {"add": tn.Tensor.add, "mul": tn.Tensor.mul, "div": tn.Tensor.div, "maximum": tn.Tensor.maximum}
    same_as_torch(op, engine_fns[op], fns[op], [randn(*shape, seed=seed), positive(*other, seed=seed + 1)])


@given(sizes=st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 3)), batch=st.integers(0, 2), seed=seeds)
def test_matmul_and_linear_with_empty_dims(sizes, batch, seed):
    """(b, m, k) @ (k, n), vectors, and linear, with any of b, m, k, n zero: zero-filled results and gradients."""
    m, k, n = sizes
    assume(0 in (batch, m, k, n))
    x, y, bias = randn(batch, m, k, seed=seed), randn(k, n, seed=seed + 1), randn(n, seed=seed + 2)
    check_op(lambda a, b: a @ b, None, [x, y])
    check_op(lambda a, b: a @ b, None, [randn(k, seed=seed), y])
    check_op(lambda a, b: a @ b, None, [x, randn(k, seed=seed)])
    check_op(lambda a, b: a @ b, None, [randn(k, seed=seed), randn(k, seed=seed + 1)])
    check_op(F.linear, torch_F.linear, [x, y.t().contiguous(), bias])


def test_cat_skips_1d_empty_tensors_as_torch_does():
    for dim in (0, 1, -1):
        check_op(
            lambda a, b, d=dim: tn.cat([a, b], d), lambda a, b, d=dim: torch.cat([a, b], d), [randn(2, 3), randn(0)]
        )
        check_op(
            lambda a, b, d=dim: tn.cat([b, a], d), lambda a, b, d=dim: torch.cat([b, a], d), [randn(2, 3), randn(0)]
        )


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_losses_of_empty_batches(reduction):
    """A mean over no elements is nan (torch's value); sums are 0; every gradient is empty."""
    pair = [randn(0, 3), randn(0, 3, seed=1)]
    check_op(
        lambda a, b: F.mse_loss(a, b, reduction=reduction),
        lambda a, b: torch_F.mse_loss(a, b, reduction=reduction),
        pair,
    )
    check_op(
        lambda a, b: F.l1_loss(a, b, reduction=reduction), lambda a, b: torch_F.l1_loss(a, b, reduction=reduction), pair
    )
    targets = torch.zeros(0, dtype=torch.long)
    check_op(
        lambda a: F.cross_entropy(a, targets, reduction=reduction),
        lambda a: torch_F.cross_entropy(a, targets, reduction=reduction),
        [randn(0, 3)],
    )


@st.composite
def conv_cases(draw, transpose: bool = False):
    """An empty batch (N = 0), channels, planes (maybe 0 high or wide), a kernel that fits, stride, padding."""
    groups = draw(st.sampled_from([1, 1, 2]))
    c, o = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding, stride = draw(st.integers(0, 1)), draw(st.integers(1, 2))
    h, w = draw(st.integers(0, 4)), draw(st.integers(0, 4))
    if transpose:  # torch also takes an empty plane in an empty batch; the engine's output-size check does not
        assume(all(size and (size - 1) * stride - 2 * padding + k >= 1 for k, size in zip(kernel, (h, w))))
    else:
        assume(all(k <= size + 2 * padding for k, size in zip(kernel, (h, w))))
    weight = (c, o // groups, *kernel) if transpose else (o, c // groups, *kernel)
    return (0, c, h, w), weight, o, groups, stride, padding


@given(case=conv_cases(), seed=seeds)
def test_conv2d_of_an_empty_batch(case, seed):
    """Both strategies (taps and unfold): an empty output, zero weight gradient, zero bias gradient."""
    x_shape, w_shape, o, groups, stride, padding = case
    settings = {"stride": stride, "padding": padding, "groups": groups}
    inputs = [randn(*x_shape, seed=seed), randn(*w_shape, seed=seed + 1), randn(o, seed=seed + 2)]
    check_op(lambda x, w, b: F.conv2d(x, w, b, **settings), lambda x, w, b: torch_F.conv2d(x, w, b, **settings), inputs)


@given(case=conv_cases(transpose=True), seed=seeds)
def test_conv_transpose2d_of_an_empty_batch(case, seed):
    x_shape, w_shape, o, groups, stride, padding = case
    settings = {"stride": stride, "padding": padding, "groups": groups}
    inputs = [randn(*x_shape, seed=seed), randn(*w_shape, seed=seed + 1), randn(o, seed=seed + 2)]
    check_op(
        lambda x, w, b: F.conv_transpose2d(x, w, b, **settings),
        lambda x, w, b: torch_F.conv_transpose2d(x, w, b, **settings),
        inputs,
    )


@pytest.mark.parametrize("kernel, scale, padding", [(3, 2, 1), (1, 3, 0), (2, 2, 1)])
def test_upsample_and_upsample_conv2d_of_an_empty_batch(kernel, scale, padding):
    x, weight, bias = randn(0, 3, 4, 5), randn(2, 3, kernel, kernel, seed=1), randn(2, seed=2)
    check_op(lambda a: F.upsample_nearest(a, scale), lambda a: torch_F.interpolate(a, scale_factor=scale), [x])
    check_op(
        lambda a, w, b: F.upsample_conv2d(a, w, b, scale_factor=scale, padding=padding),
        lambda a, w, b: torch_F.conv2d(torch_F.interpolate(a, scale_factor=scale), w, b, padding=padding),
        [x, weight, bias],
    )


@pytest.mark.parametrize("kernel, stride, padding", [(2, None, 0), (3, 1, 1), (2, 2, 1)])
def test_pooling_of_an_empty_batch(kernel, stride, padding):
    x = randn(0, 2, 5, 4)
    check_op(
        lambda a: F.max_pool2d(a, kernel, stride, padding),
        lambda a: torch_F.max_pool2d(a, kernel, stride, padding),
        [x],
    )
    for include in (True, False):
        check_op(
            lambda a, i=include: F.avg_pool2d(a, kernel, stride, padding, count_include_pad=i),
            lambda a, i=include: torch_F.avg_pool2d(a, kernel, stride, padding, count_include_pad=i),
            [x],
        )


REFUSED = {  # empty inputs torch refuses: (op, engine call, torch call), both on float64 tensors
    "conv2d-no-output-channels": (
        "conv2d",
        lambda x, w: F.conv2d(x, w),
        lambda x, w: torch_F.conv2d(x, w),
        [randn(1, 3, 4, 4), randn(0, 3, 3, 3)],
    ),
    "conv2d-kernel-0": ("conv2d", F.conv2d, torch_F.conv2d, [randn(1, 3, 4, 4), randn(2, 3, 0, 3)]),
    "conv2d-empty-planes": ("conv2d", F.conv2d, torch_F.conv2d, [randn(2, 3, 0, 4), randn(2, 3, 1, 1)]),
    "conv-transpose2d-kernel-0": (
        "conv_transpose2d",
        F.conv_transpose2d,
        torch_F.conv_transpose2d,
        [randn(1, 3, 4, 4), randn(3, 2, 3, 0)],
    ),
    "conv-transpose2d-no-output-channels": (
        "conv_transpose2d",
        F.conv_transpose2d,
        torch_F.conv_transpose2d,
        [randn(1, 3, 4, 4), randn(3, 0, 3, 3)],
    ),
    "conv-transpose2d-no-input-channels": (
        "conv_transpose2d",
        F.conv_transpose2d,
        torch_F.conv_transpose2d,
        [randn(1, 0, 4, 4), randn(0, 2, 3, 3)],
    ),
    "upsample-conv2d-no-output-channels": (
        "upsample_conv2d",
        F.upsample_conv2d,
        lambda x, w: torch_F.conv2d(torch_F.interpolate(x, scale_factor=2), w, padding=1),
        [randn(1, 3, 4, 4), randn(0, 3, 3, 3)],
    ),
    "max-pool2d-no-channels": (
        "max_pool2d",
        lambda x: F.max_pool2d(x, 2),
        lambda x: torch_F.max_pool2d(x, 2),
        [randn(2, 0, 4, 4)],
    ),
    "avg-pool2d-empty-planes": (
        "avg_pool2d",
        lambda x: F.avg_pool2d(x, 1),
        lambda x: torch_F.avg_pool2d(x, 1),
        [randn(0, 2, 0, 4)],
    ),
    "upsample-no-channels": (
        "upsample_nearest",
        lambda x: F.upsample_nearest(x, 2),
        lambda x: torch_F.interpolate(x, scale_factor=2),
        [randn(1, 0, 4, 4)],
    ),
    "upsample-empty-planes": (
        "upsample_nearest",
        lambda x: F.upsample_nearest(x, 2),
        lambda x: torch_F.interpolate(x, scale_factor=2),
        [randn(1, 2, 4, 0)],
    ),
}


@pytest.mark.parametrize("op, engine_fn, torch_fn, inputs", list(REFUSED.values()), ids=list(REFUSED))
def test_empty_inputs_torch_refuses_raise_its_exception_type_naming_the_op(op, engine_fn, torch_fn, inputs):
    with pytest.raises(RuntimeError):
        torch_fn(*inputs)  # the premise: torch refuses this
    same_as_torch(op, engine_fn, torch_fn, inputs)


def test_conv2d_over_zero_channels_is_refused_where_torch_gives_an_inconsistent_shape():
    """torch returns (N, 0, H_out, W_out) for a 0-channel input (not the bias, of N x O x ...): the engine raises."""
    x, weight, bias = randn(2, 0, 5, 5), randn(4, 0, 3, 3), randn(4)
    assert torch_F.conv2d(x, weight, bias, padding=1).shape == (2, 0, 5, 5)  # the inconsistency
    with pytest.raises(RuntimeError, match=r"conv2d: input of shape \(2, 0, 5, 5\) has 0 channels"):
        F.conv2d(x, weight, bias, padding=1)


LAYERS = {  # nn layers on an empty batch, by name -> (engine layer, torch layer, input shape)
    "linear": (lambda: nn.Linear(3, 2), lambda: torch.nn.Linear(3, 2), (0, 3)),
    "linear-no-features": (lambda: nn.Linear(0, 2), lambda: torch.nn.Linear(0, 2), (4, 0)),
    "linear-no-outputs": (lambda: nn.Linear(3, 0), lambda: torch.nn.Linear(3, 0), (4, 3)),
    "conv2d": (lambda: nn.Conv2d(3, 2, 3, padding=1), lambda: torch.nn.Conv2d(3, 2, 3, padding=1), (0, 3, 4, 4)),
    "conv-transpose2d": (
        lambda: nn.ConvTranspose2d(3, 2, 3, stride=2),
        lambda: torch.nn.ConvTranspose2d(3, 2, 3, stride=2),
        (0, 3, 4, 4),
    ),
    "max-pool2d": (lambda: nn.MaxPool2d(2), lambda: torch.nn.MaxPool2d(2), (0, 3, 4, 4)),
    "avg-pool2d": (lambda: nn.AvgPool2d(2), lambda: torch.nn.AvgPool2d(2), (0, 3, 4, 4)),
    "upsample": (lambda: nn.Upsample(scale_factor=2), lambda: torch.nn.Upsample(scale_factor=2), (0, 3, 4, 4)),
    "flatten": (lambda: nn.Flatten(), lambda: torch.nn.Flatten(), (0, 3, 4, 4)),
    "softmax": (lambda: nn.Softmax(dim=1), lambda: torch.nn.Softmax(dim=1), (0, 3)),
}


@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors is a no-op")  # torch.nn.Linear(0, 2)
@pytest.mark.parametrize("name", list(LAYERS))
def test_nn_layers_on_empty_batches(name):
    """Same weights in both (the engine's copied into torch's), then forward and gradients compared."""
    make_engine, make_torch, shape = LAYERS[name]
    engine, reference = make_engine().double(), make_torch().double()
    with torch.no_grad():
        for theirs, ours in zip(reference.parameters(), engine.parameters()):
            theirs.copy_(ours.data)
    x = randn(*shape)
    check_op(engine, reference, [x])
    if not list(engine.parameters()):
        return
    seed = randn(*reference(x).shape)
    (engine(tn.Tensor(x)) * tn.Tensor(seed)).sum().backward()
    (reference(x) * seed).sum().backward()
    for ours, theirs in zip(engine.parameters(), reference.parameters()):
        torch.testing.assert_close(ours.gradient, theirs.grad)


@pytest.mark.parametrize("arch", ["default", "course"])
def test_denoisers_run_an_empty_batch_forward_and_backward(arch):
    """N = 0 through either denoiser: an empty (0, 3, H, W) output, an empty input gradient, zero weight gradients."""
    net = models.build(arch).double()
    x = tn.Tensor(randn(0, 3, 8, 12), requires_grad=True)
    out = net(x)
    assert out.shape == (0, 3, 8, 12)
    out.sum().backward()
    assert x.gradient.shape == x.shape
    for name, parameter in net.named_parameters():
        assert parameter.gradient is not None and parameter.gradient.shape == parameter.shape, name
        assert not parameter.gradient.any(), name
