"""Layers, losses, containers and initialisers against torch.nn (float64, forward and every gradient)."""

from __future__ import annotations

import inspect
import math

import pytest
import torch

import tinygrad_n2n as tn
from tinygrad_n2n import nn, tape

ATOL = 1e-10


def _compare(ours: nn.Module, theirs: torch.nn.Module, *inputs: torch.Tensor) -> None:
    """Load theirs' weights into ours, then compare outputs, input gradients and parameter gradients."""
    theirs = theirs.double()
    ours.double().load_state_dict(theirs.state_dict())
    mine = [tn.Tensor(x, requires_grad=x.is_floating_point()) for x in inputs]
    ref_inputs = [x.clone().requires_grad_(x.is_floating_point()) for x in inputs]
    out, ref = ours(*mine), theirs(*ref_inputs)
    torch.testing.assert_close(out.data, ref.detach(), atol=ATOL, rtol=0)
    seed = torch.randn(ref.shape, dtype=ref.dtype, generator=torch.Generator().manual_seed(0))
    out.backward(seed)
    ref.backward(seed)
    for a, b in zip(mine, ref_inputs):
        if b.requires_grad:
            torch.testing.assert_close(a.gradient, b.grad, atol=ATOL, rtol=0)
    theirs_grads = {name: p.grad for name, p in theirs.named_parameters()}
    for name, param in ours.named_parameters():
        torch.testing.assert_close(param.gradient, theirs_grads[name], atol=ATOL, rtol=0, msg=name)


def _x(*shape: int) -> torch.Tensor:
    return torch.randn(*shape, dtype=torch.float64)


@pytest.mark.parametrize(
    "make",
    [
        lambda lib: lib.Linear(5, 3),
        lambda lib: lib.Linear(5, 3, bias=False),
        lambda lib: lib.Conv2d(3, 4, 3),
        lambda lib: lib.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=1, dilation=(1, 2), groups=2, bias=False),
        lambda lib: lib.Conv2d(3, 4, 3, padding="same"),
        lambda lib: lib.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1),
        lambda lib: lib.MaxPool2d(2),
        lambda lib: lib.MaxPool2d(3, stride=2, padding=1),
        lambda lib: lib.AvgPool2d(2, stride=1),
        lambda lib: lib.Upsample(scale_factor=2),
        lambda lib: lib.Upsample(size=(12, 18)),
        lambda lib: lib.ReLU(),
        lambda lib: lib.LeakyReLU(0.2),
        lambda lib: lib.Sigmoid(),
        lambda lib: lib.Tanh(),
        lambda lib: lib.Softmax(dim=1),
        lambda lib: lib.LogSoftmax(dim=1),
        lambda lib: lib.Flatten(),
        lambda lib: lib.Dropout(0.3).eval(),
        lambda lib: lib.Identity(),
    ],
)
def test_layer_matches_torch(make):
    torch.manual_seed(0)
    theirs = make(torch.nn)
    ours = make(nn)
    assert repr(ours) == repr(theirs)
    shape = (2, 5) if isinstance(theirs, torch.nn.Linear) else (2, 4 if "groups=2" in repr(theirs) else 3, 6, 9)
    _compare(ours, theirs, _x(*shape))


TORCH_TWINS = [
    *(getattr(nn, name) for name in nn.__all__ if name[0].isupper() and hasattr(torch.nn, name)),
    *(getattr(nn.init, name) for name in ("kaiming_normal_", "kaiming_uniform_", "xavier_uniform_", "xavier_normal_")),
    *(getattr(nn.init, name) for name in ("zeros_", "ones_", "normal_", "uniform_", "constant_", "calculate_gain")),
]


@pytest.mark.parametrize("ours", TORCH_TWINS, ids=lambda f: f.__name__)
def test_signature_and_defaults_are_torchs(ours):
    theirs = getattr(torch.nn.init if ours.__module__.endswith(".init") else torch.nn, ours.__name__)

    def described(fn):
        return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]

    assert described(ours) == described(theirs)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", ["MSELoss", "L1Loss", "CrossEntropyLoss"])
def test_losses_match_torch(name, reduction):
    ours, theirs = getattr(nn, name)(reduction=reduction), getattr(torch.nn, name)(reduction=reduction)
    target = torch.randint(0, 5, (6,)) if name == "CrossEntropyLoss" else _x(6, 5)
    out, ref_in = tn.Tensor(_x(6, 5), requires_grad=True), None
    ref_in = out.data.clone().requires_grad_(True)
    loss, ref = ours(out, target), theirs(ref_in, target)
    torch.testing.assert_close(loss.data, ref.detach(), atol=ATOL, rtol=0)
    loss.sum().backward()
    ref.sum().backward()
    torch.testing.assert_close(out.gradient, ref_in.grad, atol=ATOL, rtol=0)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_ignore_index_matches_torch(reduction):
    logits = _x(5, 4, 3)
    target = torch.tensor([[0, 1, 2], [1, 1, 3], [2, 0, 1], [3, 3, 3], [1, 2, 0]])
    weight = torch.tensor([0.5, 2.0, 1.0, 3.0], dtype=torch.float64)
    for ignore_index, weights in ((1, None), (-100, weight)):
        labels = target if ignore_index == 1 else target.masked_fill(target == 1, -100)
        ours, theirs = tn.Tensor(logits, requires_grad=True), logits.clone().requires_grad_(True)
        options = {"weight": weights, "ignore_index": ignore_index, "reduction": reduction}
        loss = nn.CrossEntropyLoss(**options)(ours, labels)
        ref = torch.nn.CrossEntropyLoss(**options)(theirs, labels)
        torch.testing.assert_close(loss.data, ref.detach(), atol=ATOL, rtol=0)
        loss.sum().backward()
        ref.sum().backward()
        torch.testing.assert_close(ours.gradient, theirs.grad, atol=ATOL, rtol=0)
        ignored = (labels == ignore_index).unsqueeze(1).expand_as(logits)
        assert bool(ignored.any()) and bool((ours.gradient[ignored] == 0).all())


def test_upsampling_equals_upsample_then_conv():
    fused = nn.Upsampling(4, 6, kernel_size=3, scale_factor=2).double()
    assert list(fused.state_dict()) == ["weight", "bias"]
    conv = nn.Conv2d(4, 6, 3, padding=1).double()
    conv.load_state_dict(fused.state_dict())
    two_step = nn.Sequential(nn.Upsample(scale_factor=2), conv)
    x = _x(2, 4, 5, 7)
    a, b = tn.Tensor(x, requires_grad=True), tn.Tensor(x, requires_grad=True)
    out_fused, out_two = fused(a), two_step(b)
    assert out_fused.shape == (2, 6, 10, 14)
    torch.testing.assert_close(out_fused.data, out_two.data, atol=ATOL, rtol=0)
    seed = _x(*out_fused.shape)
    out_fused.backward(seed)
    out_two.backward(seed)
    torch.testing.assert_close(a.gradient, b.gradient, atol=ATOL, rtol=0)
    torch.testing.assert_close(fused.weight.gradient, conv.weight.gradient, atol=ATOL, rtol=0)
    torch.testing.assert_close(fused.bias.gradient, conv.bias.gradient, atol=ATOL, rtol=0)


def test_dropout_training_mask_matches_torch_and_eval_is_identity():
    x = _x(4, 50)
    torch.manual_seed(3)
    ref = torch.nn.Dropout(0.4)(x)
    torch.manual_seed(3)
    drop = nn.Dropout(0.4)
    out = drop(x)
    assert torch.equal(out.data, ref)
    kept = out.data != 0
    torch.testing.assert_close(out.data[kept], x[kept] / 0.6)
    assert torch.equal(drop.eval()(x).data, x)
    assert torch.equal(nn.Dropout(1.0)(x).data, torch.zeros_like(x))
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
        nn.Dropout(1.5)


def test_sequential_indexing_slicing_len_iteration_append():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[0], nn.Linear) and isinstance(seq[-1], nn.Linear)
    head = seq[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is seq[0]
    twin = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    for part in (slice(1, None), slice(None, None, 2), slice(-1, None)):
        assert list(seq[part].state_dict()) == list(twin[part].state_dict()), "slices keep the names, as in torch"
        assert [type(m).__name__ for m in seq[part]] == [type(m).__name__ for m in twin[part]]
    assert [type(m).__name__ for m in seq] == ["Linear", "ReLU", "Linear"]
    assert seq.append(nn.Sigmoid()) is seq and len(seq) == 4
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    out = seq(torch.randn(5, 2))
    assert out.shape == (5, 1) and bool(((out.data > 0) & (out.data < 1)).all())
    with pytest.raises(IndexError, match="out of range"):
        seq[4]
    with pytest.raises(TypeError, match=r"torch\.nn module ReLU to '1': build it from tinygrad_n2n\.nn"):
        nn.Sequential(nn.ReLU(), torch.nn.ReLU())
    with pytest.raises(TypeError, match="int is not a Module subclass"):
        nn.Sequential(nn.ReLU(), 3)
    listed = nn.ModuleList([nn.Linear(1, 1), nn.Linear(1, 1)])
    assert len(listed) == 2 and len(list(listed.parameters())) == 4


def test_fresh_weights_are_torch_identical_under_the_same_seed():
    def arch(lib):
        return lib.Sequential(
            lib.Conv2d(3, 8, 3), lib.ConvTranspose2d(8, 4, 2, stride=2), lib.Flatten(), lib.Linear(16, 4)
        )

    torch.manual_seed(7)
    theirs = arch(torch.nn).state_dict()
    torch.manual_seed(7)
    ours = arch(nn).state_dict()
    assert list(ours) == list(theirs)
    assert all(torch.equal(ours[k], theirs[k]) for k in ours)


def test_default_init_distribution_matches_torch_bounds_and_std():
    conv = nn.Conv2d(64, 128, 3)
    fan_in = 64 * 9
    bound = 1 / math.sqrt(fan_in)  # kaiming-uniform with a = √5 gives the same bound as the bias
    weight = conv.weight.data
    assert weight.abs().max() <= bound and weight.abs().max() > 0.99 * bound
    assert abs(weight.std().item() - bound / math.sqrt(3)) < 0.02 * bound
    assert abs(weight.mean().item()) < 0.02 * bound
    assert conv.bias.data.abs().max() <= bound
    reference = torch.nn.Conv2d(64, 128, 3).weight.detach()
    assert abs(weight.std().item() - reference.std().item()) < 0.02 * bound


@pytest.mark.parametrize(
    ("fn", "kwargs", "expected_std"),
    [
        (nn.init.kaiming_normal_, {"nonlinearity": "relu"}, math.sqrt(2 / 200)),
        (nn.init.kaiming_uniform_, {"nonlinearity": "relu"}, math.sqrt(2 / 200)),
        (nn.init.xavier_uniform_, {}, math.sqrt(2 / (200 + 300))),
        (nn.init.xavier_normal_, {"gain": 2.0}, 2 * math.sqrt(2 / (200 + 300))),
        (nn.init.normal_, {"std": 0.5}, 0.5),
        (nn.init.uniform_, {"a": -1.0, "b": 1.0}, 1 / math.sqrt(3)),
    ],
)
def test_init_functions_match_torch_and_are_reproducible_with_a_generator(fn, kwargs, expected_std):
    param = nn.Parameter(torch.empty(300, 200, dtype=torch.float64))
    before = tape.tape_length()
    assert fn(param, **kwargs, generator=torch.Generator().manual_seed(1)) is param
    first = param.data.clone()
    fn(param, **kwargs, generator=torch.Generator().manual_seed(1))
    assert torch.equal(param.data, first)
    reference = torch.empty(300, 200, dtype=torch.float64)
    getattr(torch.nn.init, fn.__name__)(reference, **kwargs, generator=torch.Generator().manual_seed(1))
    assert torch.equal(first, reference)
    assert abs(first.std().item() - expected_std) < 0.03 * expected_std
    assert tape.tape_length() == before and not param.data.requires_grad, "initialising records nothing"
    fn(param, **kwargs, generator=torch.Generator().manual_seed(2))
    assert not torch.equal(param.data, first), "the generator decides the draw"


def test_constant_initialisers():
    param = nn.Parameter(torch.empty(3, 2))
    assert torch.equal(nn.init.zeros_(param).data, torch.zeros(3, 2))
    assert torch.equal(nn.init.ones_(param).data, torch.ones(3, 2))
    assert torch.equal(nn.init.constant_(param, 0.5).data, torch.full((3, 2), 0.5))
    with pytest.raises(ValueError, match="≥ 2 dims"):
        nn.init.xavier_uniform_(nn.Parameter(torch.empty(3)))


def test_bad_layer_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="must be divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(RuntimeError, match="kernel_size must be an int"):
        nn.Conv2d(3, 4, 0)
    with pytest.raises(ValueError, match="reduction must be"):
        nn.MSELoss(reduction="avg")
