"""The tape is thread-local (tape.py): threads computing gradients at once never see each other's entries."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
import torch

import tinygrad_n2n as tn
from tests.helpers import positive, randn
from tinygrad_n2n import functional as F
from tinygrad_n2n import tape

THREADS = 4
ROUNDS = 3  # forward + backward rounds per thread
TIMEOUT = 30  # seconds a barrier waits before the test fails instead of hanging


# Four different computations, in the engine and in torch (mostly the same code: the operators and methods
# exist in both).
def _mlp(x, w, b):
    return (x @ w + b).tanh().sum()


def _conv(x, w, b):
    return F.mse_loss(F.conv2d(x, w, b, padding=1).sigmoid(), x.mean(1, keepdim=True).expand(2, 2, 5, 5))


def _elementwise(x, w, b):
    return ((x * w).exp() / b + (x - b).abs()).sqrt().mean()


def _reductions(x, w, b):
    return (x.max(dim=1).values * w.sum() + F.log_softmax(x, dim=1).min() * b).sum()


def _torch_reductions(x, w, b):
    return (x.max(dim=1).values * w.sum() + torch.log_softmax(x, dim=1).min() * b).sum()


def _torch_conv(x, w, b):
    return torch.nn.functional.mse_loss(
        torch.nn.functional.conv2d(x, w, b, padding=1).sigmoid(), x.mean(1, keepdim=True).expand(2, 2, 5, 5)
    )


# (engine fn, torch fn, input shapes, the ops it records on the engine's tape, in order)
JOBS: list[tuple[Callable, Callable, list[tuple[int, ...]], list[str]]] = [
    (_mlp, _mlp, [(3, 4), (4, 2), (2,)], ["matmul", "add", "tanh", "sum"]),
    (_conv, _torch_conv, [(2, 2, 5, 5), (2, 2, 3, 3), (2,)], ["conv2d", "sigmoid", "mean", "expand", "mse_loss"]),
    (_elementwise, _elementwise, [(2, 3), (3,), (2, 3)], ["mul", "exp", "div", "sub", "abs", "add", "sqrt", "mean"]),
    (
        _reductions,
        _torch_reductions,
        [(3, 4), (4,), (3,)],
        ["gather", "reshape", "sum", "mul", "log_softmax", "amax", "mul", "add", "sum"],
    ),
]


def _inputs(job: int, shapes: list[tuple[int, ...]]) -> list[torch.Tensor]:
    """Positive inputs (sqrt and division stay defined), different for every job."""
    return [positive(*shape, seed=10 * job + k) for k, shape in enumerate(shapes)]


def _torch_gradients(job: int) -> list[torch.Tensor]:
    _, torch_fn, shapes, _ = JOBS[job]
    leaves = [x.requires_grad_() for x in _inputs(job, shapes)]
    torch_fn(*leaves).backward()
    return [x.grad for x in leaves]


def _run_threads(worker: Callable[[int], None], barrier: threading.Barrier) -> None:
    """Run worker(0..THREADS-1) on their own threads; re-raise the first failure in the calling thread."""
    errors: list[BaseException] = []

    def guarded(index: int) -> None:
        try:
            worker(index)
        except BaseException as error:  # reported to the test below
            errors.append(error)
            barrier.abort()  # the other workers stop waiting for this one

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a worker thread hung"
    if errors:
        raise errors[0]


def test_four_threads_compute_different_gradients_at_once_on_their_own_tapes():
    expected = [_torch_gradients(job) for job in range(THREADS)]
    main_length = tape.tape_length()
    barrier = threading.Barrier(THREADS, timeout=TIMEOUT)
    lengths: dict[int, list[int]] = {job: [] for job in range(THREADS)}

    def worker(job: int) -> None:
        engine_fn, _, shapes, recorded = JOBS[job]
        for _ in range(ROUNDS):
            leaves = [tn.Tensor(x, requires_grad=True) for x in _inputs(job, shapes)]
            barrier.wait()  # all four start recording together
            loss = engine_fn(*leaves)
            barrier.wait()  # all four graphs are alive at the same moment: each tape holds only its own
            lengths[job].append(tape.tape_length())
            assert [entry.op_name for entry in tape.live_entries()] == recorded, f"job {job} sees foreign entries"
            barrier.wait()
            loss.backward()
            lengths[job].append(tape.tape_length())  # backward freed exactly this thread's entries
            for index, (leaf, reference) in enumerate(zip(leaves, expected[job])):
                torch.testing.assert_close(leaf.gradient, reference, atol=1e-12, rtol=0, msg=f"job {job} input {index}")
        assert lengths[job] == [len(recorded), 0] * ROUNDS, f"job {job}: tape lengths {lengths[job]}"

    _run_threads(worker, barrier)
    assert tape.tape_length() == main_length  # nothing leaked onto the main thread's tape


def test_the_recording_switch_is_per_thread():
    barrier = threading.Barrier(THREADS, timeout=TIMEOUT)
    recorded: dict[int, bool] = {}

    def worker(index: int) -> None:
        x = tn.Tensor(randn(3, seed=index), requires_grad=True)
        if index % 2:
            with tn.no_grad():
                barrier.wait()  # two threads sit inside no_grad() while the other two record
                recorded[index] = (x * 2).requires_grad
                barrier.wait()
        else:
            barrier.wait()
            recorded[index] = (x * 2).requires_grad and tn.is_grad_enabled()
            barrier.wait()

    _run_threads(worker, barrier)
    assert recorded == {0: True, 1: False, 2: True, 3: False}
    assert tn.is_grad_enabled()


def test_backward_of_a_graph_recorded_on_another_thread_is_refused():
    made: list[tn.Tensor] = []
    x = tn.Tensor(randn(3), requires_grad=True)
    mine = (x * 3).sum()  # this thread's tape has entries too, with their own sequence numbers
    thread = threading.Thread(target=lambda: made.append((x.exp() * x).sum()))
    thread.start()
    thread.join(TIMEOUT)
    with pytest.raises(RuntimeError, match="recorded on another thread's tape; call backward on the thread"):
        made[0].backward()
    assert x.gradient is None
    mine.backward()
    torch.testing.assert_close(x.gradient, torch.full((3,), 3.0, dtype=torch.float64))
