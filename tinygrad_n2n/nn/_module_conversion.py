"""`ModuleConversion`: moving and casting a Module's parameters, gradients and buffers, as torch.nn.Module's
`to`, `float`, `double`, `half`, `bfloat16`, `type`, `cpu` and `cuda` do.

Parameters keep their identity (their `.data` is replaced), so optimizers built before a move still hold them;
buffers that are raw torch tensors are replaced in the module, as torch replaces them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch

from .._tensor import Tensor

if TYPE_CHECKING:
    from .module import Module


class ModuleConversion:
    """The device/dtype half of `Module` (mixed into it)."""

    def _apply(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> Module:
        """Replace the data of every parameter, gradient and buffer by `fn(data)`; parameters keep their identity."""
        for module in self.modules():
            for param in (p for p in module._parameters.values() if p is not None):
                param.data = fn(param.data)
                if param.gradient is not None:
                    param.gradient = fn(param.gradient)
            for name, buffer in module._buffers.items():
                if isinstance(buffer, Tensor):
                    buffer.data = fn(buffer.data)
                elif buffer is not None:
                    module._buffers[name] = fn(buffer)
        return self

    def to(self, *args: Any, **kwargs: Any) -> Module:
        """Move and/or cast parameters, gradients and buffers in place (`torch.Tensor.to` arguments); returns self.

        As torch, a dtype must be floating point (or complex) and casts only the floating-point (complex) tensors:
        integer buffers such as BatchNorm's `num_batches_tracked` keep their dtype.
        """
        device, dtype, non_blocking, memory_format = torch._C._nn._parse_to(*args, **kwargs)
        if dtype is not None and not (dtype.is_floating_point or dtype.is_complex):
            raise TypeError(
                f"nn.Module.to only accepts floating point or complex dtypes, but got desired dtype={dtype}"
            )

        def convert(t: torch.Tensor) -> torch.Tensor:
            cast = dtype if t.is_floating_point() or t.is_complex() else None
            if memory_format is not None and t.dim() in (4, 5):
                return t.to(device, cast, non_blocking, memory_format=memory_format)
            return t.to(device, cast, non_blocking)

        return self._apply(convert)

    def _cast_floating(self, dtype: torch.dtype) -> Module:
        return self._apply(lambda t: t.to(dtype) if t.is_floating_point() else t)

    def float(self) -> Module:
        """Cast floating-point parameters and buffers to float32; returns self."""
        return self._cast_floating(torch.float32)

    def double(self) -> Module:
        """Cast floating-point parameters and buffers to float64; returns self."""
        return self._cast_floating(torch.float64)

    def half(self) -> Module:
        """Cast floating-point parameters and buffers to float16; returns self."""
        return self._cast_floating(torch.float16)

    def bfloat16(self) -> Module:
        """Cast floating-point parameters and buffers to bfloat16; returns self."""
        return self._cast_floating(torch.bfloat16)

    def type(self, dst_type: torch.dtype | str) -> Module:
        """Cast every parameter and buffer, integer ones included, to `dst_type` (as torch); returns self."""
        return self._apply(lambda t: t.type(dst_type))

    def cpu(self) -> Module:
        """Move every parameter and buffer to the CPU; returns self."""
        return self._apply(lambda t: t.cpu())

    def cuda(self, device: int | str | torch.device | None = None) -> Module:
        """Move every parameter and buffer to a CUDA device (the current one by default); returns self."""
        return self._apply(lambda t: t.cuda(device))
