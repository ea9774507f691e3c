"""`InplaceMethods`: Tensor's in-place methods (`add_`, `mul_`, `zero_`, `uniform_`, `x[i] = v`, ...) and the
in-place operators `+=`, `-=`, `*=`, `/=`, `**=` (`Tensor` inherits it beside `TensorMethods`).

Each method runs torch's own in-place kernel on `self.data` and returns `self`, the same object: numbers,
dtype rules (the result keeps self's dtype, torch's error when it cannot), broadcasting, views sharing the
change and the version counter bump are exactly torch's.

In-place ops are never recorded on the tape. One rule, in `_check_writable`, decides when they may run:

- nothing records (inside `no_grad()` or `inference_mode()`, in an eval-mode module's forward, or neither the
  tensor nor any operand requires a gradient): the op writes into `self.data`, as `optimizer.step()` does;
- on a leaf that requires a gradient while recording: torch's RuntimeError ("a leaf Variable that requires
  grad is being used in an in-place operation.");
- on a tensor recorded on the tape (a non-leaf), or with an operand that requires a gradient while recording
  (`buf += x`): a RuntimeError naming the op and the out-of-place line to write instead. Here torch would
  record the op; the engine's design choice is a tape without in-place entries, since the out-of-place line
  always exists and gives the same gradients.

A saved tensor changed in place under `no_grad()` after its op was recorded (`p -= lr * p.grad` between
forward and backward) is refused at backward by the tape's version check, as in torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from . import tape

if TYPE_CHECKING:
    from ._tensor import Tensor

_LEAF_MESSAGE = "a leaf Variable that requires grad is being used in an in-place operation."  # torch's words


def _check_writable(tensor: InplaceMethods, op: str, rewrite: str, operands: tuple) -> None:
    """Raise unless `op` may write into `tensor` in place with these operands: the rule of the module docstring."""
    if not torch.is_grad_enabled():
        return
    for operand in operands:
        if isinstance(operand, torch.Tensor) and operand.requires_grad:
            raise TypeError(
                f"{op}: got a torch tensor that requires a gradient from torch.autograd (shape "
                f"{tuple(operand.shape)}); the engine never uses torch.autograd, so that gradient would be lost. "
                "Pass t.detach(), or write inside `with tn.no_grad():`"
            )
    if not tape.is_recording():
        return
    if tensor._requires_grad:
        if tensor._entry is None:
            raise RuntimeError(
                f"{_LEAF_MESSAGE} ({op}: update parameters inside `with tn.no_grad():`, as optimizers do)"
            )
        raise RuntimeError(
            f"{op}: in-place ops on a tensor recorded on the tape (computed by '{tensor._entry.op_name}') are not "
            f"supported; write {rewrite}"
        )
    if any(isinstance(operand, InplaceMethods) and operand._requires_grad for operand in operands):
        raise RuntimeError(
            f"{op}: an operand requires a gradient, and in-place ops are not recorded on the tape, so its gradient "
            f"would be lost; write {rewrite} (out of place)"
        )


def _raw(value: Any) -> Any:
    """An operand (or an index tuple) with engine tensors replaced by their raw torch tensors."""
    if isinstance(value, InplaceMethods):
        return value.data
    return tuple(map(_raw, value)) if isinstance(value, tuple) else value


class InplaceMethods:
    """In-place methods of `Tensor`; each writes into `self.data` and returns `self`.

    They run when nothing records (`no_grad()`, `inference_mode()`, or no gradient involved). While recording,
    a leaf that requires a gradient raises torch's RuntimeError, and a recorded tensor, or an operand that
    requires a gradient, raises a RuntimeError naming the out-of-place line to write (the engine records no
    in-place ops; torch would). The module docstring has the details.
    """

    __slots__ = ()
    data: torch.Tensor
    _requires_grad: bool
    _entry: Any

    def _write(self, kernel: Any, rewrite: str, *operands: Any, **options: Any) -> Tensor:
        """Run torch's in-place `kernel` on `self.data` once `_check_writable` allows it; torch's errors keep their
        type and gain the op's name."""
        op = kernel.__name__
        _check_writable(self, op, rewrite, (*operands, *options.values()))
        try:
            kernel(self.data, *map(_raw, operands), **{name: _raw(value) for name, value in options.items()})
        except RuntimeError as error:  # NotImplementedError (an unsupported dtype) included
            raise type(error)(f"{op}: {error}") from error
        return self

    # ------------------------------------------------------------ arithmetic (other broadcasts to self's shape)
    def add_(self, other: Any, *, alpha: Any = 1) -> Tensor:
        """self += alpha * other, in place."""
        rewrite = "y = y + other" if alpha == 1 else "y = y + alpha * other"
        return self._write(torch.Tensor.add_, rewrite, other, alpha=alpha)

    def sub_(self, other: Any, *, alpha: Any = 1) -> Tensor:
        """self -= alpha * other, in place."""
        rewrite = "y = y - other" if alpha == 1 else "y = y - alpha * other"
        return self._write(torch.Tensor.sub_, rewrite, other, alpha=alpha)

    def mul_(self, other: Any) -> Tensor:
        """self *= other, in place."""
        return self._write(torch.Tensor.mul_, "y = y * other", other)

    def div_(self, other: Any, *, rounding_mode: str | None = None) -> Tensor:
        """self /= other, in place; rounding_mode None (true division), "trunc" or "floor"."""
        return self._write(torch.Tensor.div_, "y = y / other", other, rounding_mode=rounding_mode)

    def pow_(self, exponent: Any) -> Tensor:
        """self = self ** exponent, in place."""
        return self._write(torch.Tensor.pow_, "y = y ** exponent", exponent)

    def addcmul_(self, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Tensor:
        """self += value * tensor1 * tensor2, in place."""
        return self._write(torch.Tensor.addcmul_, "y = y + value * tensor1 * tensor2", tensor1, tensor2, value=value)

    def addcdiv_(self, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Tensor:
        """self += value * tensor1 / tensor2, in place."""
        return self._write(torch.Tensor.addcdiv_, "y = y + value * tensor1 / tensor2", tensor1, tensor2, value=value)

    def lerp_(self, end: Any, weight: Any) -> Tensor:
        """self += weight * (end - self), in place."""
        return self._write(torch.Tensor.lerp_, "y = y + weight * (end - y)", end, weight)

    def __iadd__(self, other: Any) -> Tensor:
        return self.add_(other)

    def __isub__(self, other: Any) -> Tensor:
        return self.sub_(other)

    def __imul__(self, other: Any) -> Tensor:
        return self.mul_(other)

    def __itruediv__(self, other: Any) -> Tensor:
        return self.div_(other)

    def __ipow__(self, exponent: Any) -> Tensor:
        return self.pow_(exponent)

    # ------------------------------------------------------------ unary
    def neg_(self) -> Tensor:
        """self = -self, in place."""
        return self._write(torch.Tensor.neg_, "y = -y")

    def exp_(self) -> Tensor:
        """self = exp(self), in place."""
        return self._write(torch.Tensor.exp_, "y = y.exp()")

    def log_(self) -> Tensor:
        """self = log(self), in place."""
        return self._write(torch.Tensor.log_, "y = y.log()")

    def sqrt_(self) -> Tensor:
        """self = sqrt(self), in place."""
        return self._write(torch.Tensor.sqrt_, "y = y.sqrt()")

    def abs_(self) -> Tensor:
        """self = |self|, in place."""
        return self._write(torch.Tensor.abs_, "y = y.abs()")

    def relu_(self) -> Tensor:
        """self = max(self, 0), in place."""
        return self._write(torch.Tensor.relu_, "y = y.relu()")

    def sigmoid_(self) -> Tensor:
        """self = 1 / (1 + exp(-self)), in place."""
        return self._write(torch.Tensor.sigmoid_, "y = y.sigmoid()")

    def tanh_(self) -> Tensor:
        """self = tanh(self), in place."""
        return self._write(torch.Tensor.tanh_, "y = y.tanh()")

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:
        """Clip self into [min, max] in place (either bound may be None, not both)."""
        return self._write(torch.Tensor.clamp_, "y = y.clamp(min, max)", min=min, max=max)

    clip_ = clamp_

    def clamp_min_(self, min: Any) -> Tensor:
        """self = max(self, min), in place."""
        return self._write(torch.Tensor.clamp_min_, "y = y.clamp(min=min)", min)

    def clamp_max_(self, max: Any) -> Tensor:
        """self = min(self, max), in place."""
        return self._write(torch.Tensor.clamp_max_, "y = y.clamp(max=max)", max)

    # ------------------------------------------------------------ filling
    def zero_(self) -> Tensor:
        """Set every element to 0, in place."""
        return self._write(torch.Tensor.zero_, "y = tn.zeros(y.shape, dtype=y.dtype)")

    def fill_(self, value: Any) -> Tensor:
        """Set every element to `value` (a number or a 0-d tensor), in place."""
        return self._write(torch.Tensor.fill_, "y = tn.full(y.shape, value)", value)

    def copy_(self, src: Any, non_blocking: bool = False) -> Tensor:
        """Copy `src` (broadcast to self's shape, cast to self's dtype and device) into self, in place."""
        return self._write(torch.Tensor.copy_, "y = src + 0 (a new tensor)", src, non_blocking)

    def masked_fill_(self, mask: Any, value: Any) -> Tensor:
        """Set the elements where the boolean `mask` (broadcast to self's shape) is True to `value`, in place."""
        return self._write(torch.Tensor.masked_fill_, "y = torch.where(mask, value, y)", mask, value)

    def __setitem__(self, index: Any, value: Any) -> None:
        """self[index] = value, in place (torch's indexing: ints, slices, masks, index tensors)."""
        self._write(torch.Tensor.__setitem__, "the tensor out of place (torch.where, tn.cat)", index, value)

    def uniform_(self, from_: float = 0.0, to: float = 1.0, *, generator: torch.Generator | None = None) -> Tensor:
        """Fill with numbers drawn uniformly from [from_, to), in place (torch's `from` is `from_` here)."""
        rewrite = "a new tensor: y = tn.Tensor(torch.empty(y.shape).uniform_(from_, to))"
        return self._write(torch.Tensor.uniform_, rewrite, from_, to, generator=generator)

    def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator: torch.Generator | None = None) -> Tensor:
        """Fill with numbers drawn from N(mean, std²), in place."""
        rewrite = "a new tensor: y = tn.Tensor(torch.empty(y.shape).normal_(mean, std))"
        return self._write(torch.Tensor.normal_, rewrite, mean, std, generator=generator)

    # ------------------------------------------------------------ graph
    def detach_(self) -> Tensor:
        """Make this leaf require no gradient, in place; returns self.

        A tensor recorded on the tape cannot be detached in place (ops recorded after it route its gradient
        through it): write y = y.detach() instead.
        """
        if self._entry is not None:
            raise RuntimeError(
                f"detach_: in-place ops on a tensor recorded on the tape (computed by '{self._entry.op_name}') are "
                "not supported; write y = y.detach()"
            )
        self._requires_grad = False
        return self
