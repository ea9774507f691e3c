"""Normalisation layers against torch.nn: state-dict keys and buffers, train/eval behaviour, running
statistics over several steps, momentum=None, checkpoints, forward and gradients in float64."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_n2n as tn
from tests.nn_twins import assert_same_state, compare, twins
from tinygrad_n2n import nn, tape

LAYERS = {  # id -> (builder, input shape without the batch)
    "BatchNorm1d": (lambda lib: lib.BatchNorm1d(3), (3,)),
    "BatchNorm1d(N,C,L)": (lambda lib: lib.BatchNorm1d(3, momentum=0.3, eps=1e-3), (3, 5)),
    "BatchNorm1d(momentum=None)": (lambda lib: lib.BatchNorm1d(3, momentum=None), (3, 4)),
    "BatchNorm2d": (lambda lib: lib.BatchNorm2d(3), (3, 4, 5)),
    "BatchNorm2d(affine=False)": (lambda lib: lib.BatchNorm2d(3, affine=False), (3, 4, 5)),
    "BatchNorm2d(bias=False)": (lambda lib: lib.BatchNorm2d(3, bias=False), (3, 2, 2)),
    "BatchNorm2d(untracked)": (lambda lib: lib.BatchNorm2d(3, track_running_stats=False), (3, 4, 5)),
    "InstanceNorm1d": (lambda lib: lib.InstanceNorm1d(3), (3, 6)),
    "InstanceNorm2d": (lambda lib: lib.InstanceNorm2d(3), (3, 4, 5)),
    "InstanceNorm2d(affine, tracked)": (
        lambda lib: lib.InstanceNorm2d(3, affine=True, track_running_stats=True),
        (3, 4, 5),
    ),
    "LayerNorm": (lambda lib: lib.LayerNorm(5), (3, 5)),
    "LayerNorm(2 dims)": (lambda lib: lib.LayerNorm([4, 5], eps=1e-3, bias=False), (3, 4, 5)),
    "LayerNorm(no affine)": (lambda lib: lib.LayerNorm((5,), elementwise_affine=False), (5,)),
    "GroupNorm": (lambda lib: lib.GroupNorm(2, 4), (4, 3, 3)),
    "GroupNorm(no affine)": (lambda lib: lib.GroupNorm(4, 4, affine=False), (4, 5)),
}


@pytest.mark.parametrize("name", LAYERS)
def test_repr_keys_and_initial_state_are_torchs(name):
    ours, theirs = twins(LAYERS[name][0])
    assert repr(ours) == repr(theirs)
    assert_same_state(ours, theirs)
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]


@pytest.mark.parametrize("name", LAYERS)
@settings(max_examples=6)
@given(batch=st.integers(2, 4), seed=st.integers(0, 2**16), train=st.booleans())
def test_forward_gradients_and_running_stats_match_torch_over_steps(name, batch, seed, train):
    """Three forward/backward steps in train or eval mode; the buffers are compared after each forward."""
    make, shape = LAYERS[name]
    ours, theirs = twins(make)
    ours.double().train(train)
    theirs.double().train(train)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(3):
        x = 2 * torch.randn(batch, *shape, dtype=torch.float64, generator=generator) + 1
        with tn.enable_grad():  # eval-mode modules record nothing unless asked: compare their gradients too
            compare(ours, theirs, x, copy_state=False)
    for (key, value), expected in zip(ours.state_dict().items(), theirs.state_dict().values()):
        torch.testing.assert_close(value, expected, atol=1e-12, rtol=0, msg=key)


def test_batchnorm_train_and_eval_use_batch_or_running_statistics():
    bn = nn.BatchNorm2d(2)
    x = 3 * torch.randn(8, 2, 4, 4) + 5
    out = bn(x).data
    torch.testing.assert_close(out.mean((0, 2, 3)), torch.zeros(2), atol=1e-5, rtol=0)
    assert bn.num_batches_tracked.item() == 1 and bn.num_batches_tracked.dtype == torch.long
    torch.testing.assert_close(bn.running_mean, 0.1 * x.mean((0, 2, 3)))
    bn.eval()
    frozen = (bn.running_mean.clone(), bn.num_batches_tracked.clone())
    before = tape.tape_length()
    expected = (x - bn.running_mean[:, None, None]) / (bn.running_var[:, None, None] + bn.eps).sqrt()
    torch.testing.assert_close(bn(x).data, expected)
    assert tape.tape_length() == before, "eval mode records nothing"
    assert torch.equal(bn.running_mean, frozen[0]) and torch.equal(bn.num_batches_tracked, frozen[1])


def test_batchnorm_buffers_follow_to_and_keep_the_counter_an_integer():
    ours, theirs = twins(lambda lib: lib.BatchNorm1d(3))
    for module in (ours, theirs):
        module.to(torch.float64)
        module.half()
    assert [(n, b.dtype) for n, b in ours.named_buffers()] == [(n, b.dtype) for n, b in theirs.named_buffers()]
    assert ours.num_batches_tracked.dtype == torch.long and ours.running_var.dtype == torch.float16


def test_a_torch_checkpoint_with_trained_statistics_loads_and_evaluates_the_same():
    def net(lib):
        return lib.Sequential(lib.Conv2d(2, 4, 3), lib.BatchNorm2d(4), lib.ReLU(), lib.Flatten(), lib.LayerNorm(36))

    ours, theirs = twins(net)
    theirs.double()
    for _ in range(3):
        theirs(torch.randn(5, 2, 5, 5, dtype=torch.float64))
    ours.double().load_state_dict(theirs.state_dict())
    assert_same_state(ours, theirs)
    assert ours[1].num_batches_tracked.item() == 3
    x = torch.randn(2, 2, 5, 5, dtype=torch.float64)
    torch.testing.assert_close(ours.eval()(x).data, theirs.eval()(x).detach(), atol=1e-12, rtol=0)


def test_old_batchnorm_checkpoints_without_a_version_load_without_num_batches_tracked():
    """Without version metadata a missing `num_batches_tracked` is not an error: the module keeps its own
    counter (torch's rule for checkpoints from before the counter existed)."""
    for lib in (nn, torch.nn):
        bn = lib.BatchNorm1d(3)
        state = {k: v for k, v in lib.BatchNorm1d(3).state_dict().items() if k != "num_batches_tracked"}
        bn.num_batches_tracked.fill_(5)
        bn.load_state_dict(state)
        assert bn.num_batches_tracked.item() == 5
        current = lib.BatchNorm1d(3).state_dict()
        del current["num_batches_tracked"]
        with pytest.raises(RuntimeError, match="num_batches_tracked"):
            bn.load_state_dict(current)  # a current state dict (layout version 2) must have it
    nested = nn.Sequential(nn.BatchNorm1d(2))
    nested.load_state_dict({"0.weight": torch.ones(2), "0.bias": torch.zeros(2), "0.running_mean": torch.zeros(2),
                            "0.running_var": torch.ones(2)})  # fmt: skip


@pytest.mark.parametrize(
    ("make", "shape"),
    [
        (lambda lib: lib.BatchNorm2d(3), (2, 3, 4)),
        (lambda lib: lib.BatchNorm1d(3), (2, 3, 4, 5)),
        (lambda lib: lib.InstanceNorm2d(3), (2, 3)),
        (lambda lib: lib.InstanceNorm2d(3, affine=True), (2, 4, 5, 5)),
    ],
)
def test_wrong_inputs_raise_torchs_errors(make, shape):
    ours, theirs = twins(make)
    with pytest.raises(ValueError) as expected:
        theirs(torch.randn(shape))
    with pytest.raises(ValueError) as got:
        ours(torch.randn(shape))
    assert str(got.value).endswith(str(expected.value))


def test_instance_norm_takes_unbatched_inputs_and_warns_on_channel_mismatch():
    ours, theirs = twins(lambda lib: lib.InstanceNorm2d(3))
    compare(ours, theirs, torch.randn(3, 4, 5, dtype=torch.float64))
    with pytest.warns(UserWarning, match="does not match num_features"):
        ours(torch.randn(2, 4, 3, 3))
    with pytest.raises(ValueError, match="divisible by num_groups"):
        nn.GroupNorm(3, 4)
