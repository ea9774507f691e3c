"""Tensor (tensor.py): construction, properties, conversions, and interop with torch and NumPy."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tinygrad_n2n as tn
from tests.helpers import check_op, randn
from tinygrad_n2n import tape


@pytest.mark.parametrize(
    ("data", "dtype", "values"),
    [
        ([[1.0, 2.0], [3.0, 4.0]], torch.float32, [[1.0, 2.0], [3.0, 4.0]]),
        ([1, 2, 3], torch.int64, [1, 2, 3]),
        (2.5, torch.float32, 2.5),
        (7, torch.int64, 7),
        (np.array([1.5, -2.0]), torch.float64, [1.5, -2.0]),
        (np.arange(6, dtype=np.float32).reshape(2, 3)[:, ::2], torch.float32, [[0.0, 2.0], [3.0, 5.0]]),
        (torch.tensor([True, False]), torch.bool, [True, False]),
    ],
)
def test_construction_from_lists_numbers_arrays_and_tensors(data, dtype, values):
    t = tn.Tensor(data)
    assert isinstance(t.data, torch.Tensor) and t.dtype == dtype and t.tolist() == values
    assert not t.requires_grad and t.is_leaf and t.gradient is None and t.grad is None


def test_construction_with_requires_grad_dtype_and_device():
    t = tn.Tensor([1, 2], dtype=torch.float64, requires_grad=True)
    assert t.requires_grad and t.dtype == torch.float64 and t.device == torch.device("cpu")
    assert tn.Tensor(np.ones(2), requires_grad=True).requires_grad
    assert tn.Tensor(3.0, requires_grad=True).shape == torch.Size([])
    assert tn.Tensor(torch.ones(2), device="meta").device.type == "meta"
    assert tn.zeros(2, 3, requires_grad=True).requires_grad and tn.ones(2).tolist() == [1.0, 1.0]
    assert tn.randn(4, dtype=torch.float64).dtype == torch.float64
    assert tn.arange(3).tolist() == [0, 1, 2] and tn.eye(2).tolist() == [[1.0, 0.0], [0.0, 1.0]]
    assert tn.full((2,), 1.5).tolist() == [1.5, 1.5] and tn.rand(3).shape == (3,)


def test_construction_from_a_torch_tensor_that_requires_grad_is_refused():
    """Its gradient could never reach it (the engine never uses torch.autograd): a clear error, not a constant."""
    with pytest.raises(TypeError, match=r"Tensor: got a torch tensor that requires grad \(shape \(3,\)\)"):
        tn.Tensor(torch.ones(3, requires_grad=True))
    with pytest.raises(TypeError, match="requires grad"):
        tn.Tensor(torch.ones(3)) * torch.nn.Parameter(torch.ones(3))


def test_construction_from_a_torch_tensor_shares_data():
    source = torch.ones(3)
    t = tn.Tensor(source, requires_grad=True)
    assert not t.data.requires_grad and t.data.grad_fn is None
    assert t.data.data_ptr() == source.data_ptr()  # shared storage, like torch.Tensor.detach
    wrapped = tn.Tensor(t)
    assert wrapped.data.data_ptr() == t.data.data_ptr() and not wrapped.requires_grad


def test_properties_and_conversions():
    x = torch.arange(24, dtype=torch.float32).reshape(2, 3, 4)
    t = tn.Tensor(x, requires_grad=True)
    assert t.shape == (2, 3, 4) and t.ndim == 3 and t.dim() == 3 and len(t) == 2
    assert t.numel() == 24 and t.size() == torch.Size([2, 3, 4]) and t.size(1) == 3 and t.size(-1) == 4
    assert t.dtype == torch.float32 and t.device.type == "cpu"
    assert tn.Tensor(4.5).item() == 4.5 and float(tn.Tensor(4.5)) == 4.5 and int(tn.Tensor(3)) == 3
    assert bool(tn.Tensor(1.0)) and not bool(tn.Tensor(0.0))
    assert [10, 20, 30][tn.Tensor(1)] == 20
    array = t.detach().numpy()
    assert isinstance(array, np.ndarray) and array.shape == (2, 3, 4) and array[1, 2, 3] == 23
    assert np.shares_memory(array, t.numpy(force=True))  # force: detached, on the CPU already, no copy
    plain = t.detach()
    assert np.asarray(plain).dtype == np.float32 and np.asarray(plain, dtype=np.float64).dtype == np.float64
    assert torch.as_tensor(plain).data_ptr() == x.data_ptr()  # DLPack: the same memory, a raw torch tensor

    assert t.tolist() == x.tolist()
    assert t.T.shape == (4, 3, 2) and tn.Tensor(randn(2, 3)).t().shape == (3, 2)
    assert "requires_grad=True" in repr(t) and "op=mul" in repr(t * 2)


def _error(convert, value) -> tuple[type, str]:
    try:
        convert(value)
    except Exception as error:  # the type and message are what is compared
        return type(error), str(error)
    return type(None), "no error"


def test_numpy_and_dlpack_refuse_a_tensor_that_requires_grad_as_torch():
    t, reference = tn.Tensor(randn(2, 3), requires_grad=True), randn(2, 3).requires_grad_()
    for convert in (lambda a: a.numpy(), np.asarray):
        assert _error(convert, t) == _error(convert, reference)
        assert _error(convert, t)[0] is RuntimeError
    assert _error(torch.as_tensor, t) == (
        BufferError,
        "Can't export tensors that require gradient, use tensor.detach()",
    )
    assert np.array_equal(t.numpy(force=True), t.data.numpy())


def test_detach_shares_data_and_leaves_the_graph():
    x = tn.Tensor(randn(3), requires_grad=True)
    y = x * 2
    detached = y.detach()
    assert detached.data is y.data and detached.is_leaf and not detached.requires_grad
    assert not (detached * 3).requires_grad


def test_to_moves_device_and_dtype_and_keeps_the_gradient_path():
    x = tn.Tensor(randn(3), requires_grad=True)
    moved = x.to("meta")
    assert moved.device.type == "meta" and moved.requires_grad
    assert x.cpu().device.type == "cpu" and x.to(torch.float32).dtype == torch.float32
    assert x.to("cpu", torch.float32).dtype == torch.float32
    check_op(lambda a: a.to(torch.float32).to(torch.float64) * a, None, [randn(3)], atol=1e-6)


def test_cuda_moves_to_the_gpu_or_explains_that_there_is_none():
    x = tn.Tensor(randn(2), requires_grad=True)
    if torch.cuda.is_available():
        on_gpu = x.cuda()
        assert on_gpu.device.type == "cuda" and on_gpu.requires_grad
        on_gpu.sum().backward()
        assert x.gradient.device.type == "cpu"
    else:
        with pytest.raises((AssertionError, RuntimeError), match="CUDA"):
            x.cuda()


def test_retain_grad_needs_a_tensor_that_requires_grad():
    with pytest.raises(RuntimeError, match="does not require a gradient"):
        tn.Tensor(randn(2)).retain_grad()


def test_zero_grad_clears_the_gradient():
    x = tn.Tensor(randn(2), requires_grad=True)
    (x * 2).sum().backward()
    x.zero_grad()
    assert x.gradient is None


# ---------------------------------------------------------------- interop


def test_torch_functions_on_engine_tensors_run_engine_ops():
    """Engine ops where the engine has them, recorded on the tape (tests/test_interop.py checks each one)."""
    engine = tn.Tensor(randn(2, 3, 5, 5), requires_grad=True)
    weight = tn.Tensor(randn(4, 3, 3, 3, seed=1), requires_grad=True)
    assert torch.allclose(engine, engine.data.clone()) is True
    assert not torch.allclose(engine, engine.data + 1)
    conv = torch.nn.functional.conv2d(engine.data, weight)
    assert type(conv) is tn.Tensor and conv.requires_grad
    torch.testing.assert_close(conv.data, torch.nn.functional.conv2d(engine.data, weight.data))
    before = tape.tape_length()
    both = torch.nn.functional.conv2d(engine, weight, padding=1)
    assert type(both) is tn.Tensor and both.shape == (2, 4, 5, 5)
    stacked = torch.cat([engine, engine], dim=0)
    assert type(stacked) is tn.Tensor and stacked.shape == (4, 3, 5, 5)
    mean = torch.mean(engine)
    assert type(mean) is tn.Tensor
    assert tape.tape_length() == before + 3


def test_numpy_arrays_combine_with_engine_tensors_on_either_side():
    array = np.array([1.0, 2.0, 3.0])
    x = tn.Tensor(torch.tensor([0.5, 0.5, 0.5], dtype=torch.float64), requires_grad=True)
    for out in (array * x, x * array):
        assert isinstance(out, tn.Tensor) and out.requires_grad
    (array * x).sum().backward()
    assert x.gradient.tolist() == [1.0, 2.0, 3.0]


def test_comparison_with_unsupported_operand_falls_back_like_torch():
    t = tn.Tensor(randn(2))
    assert (t == None) is False  # noqa: E711  (the comparison itself is under test)
    assert (t != None) is True  # noqa: E711
