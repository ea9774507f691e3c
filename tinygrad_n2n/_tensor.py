"""`Tensor`: a `torch.Tensor` plus the bookkeeping of the tape; its operators and methods come from
`TensorMethods` (`_tensor_methods.py`) and its sibling mixins (`_tensor_math.py`, `_tensor_reduce.py`,
`_tensor_shape.py`), each a call into a primitive op, and its in-place methods (`add_`,
`+=`, `zero_`, ...) from `InplaceMethods` (`_tensor_inplace.py`).

The module is `_tensor` (as torch's `torch/_tensor.py`) so that `tinygrad_n2n.tensor` stays free for torch's
`tensor(data)` factory.
"""

from __future__ import annotations

import copy
import reprlib
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from . import _graph_hooks, tape
from ._tensor_inplace import InplaceMethods
from ._tensor_math import MathMethods
from ._tensor_methods import TensorMethods
from ._tensor_reduce import ReduceMethods
from ._tensor_shape import ShapeMethods

Number = int | float | bool


def _converted(data: Any, dtype: torch.dtype | None, device: Any) -> torch.Tensor:
    """`data` (torch tensor, NumPy array, number or nested list) as a torch tensor of `dtype` on `device`.

    torch's errors are re-raised with their type, naming the constructor and the value at fault.
    """
    try:
        if isinstance(data, torch.Tensor):
            return data.to(device=device, dtype=dtype)
        if isinstance(data, np.ndarray):
            return torch.from_numpy(np.ascontiguousarray(data)).to(device=device, dtype=dtype)
        return torch.tensor(data, dtype=dtype, device=device)
    except (TypeError, ValueError, RuntimeError) as error:
        kind = next(k for k in (TypeError, ValueError, RuntimeError) if isinstance(error, k))
        options = "".join(f", {name}={value!r}" for name, value in (("dtype", dtype), ("device", device)) if value)
        raise kind(
            f"Tensor: cannot make a tensor from {reprlib.repr(data)} ({type(data).__name__}{options}): {error}; "
            "data must be a number, a rectangular (nested) list of numbers, a NumPy array of numbers or a tensor, "
            "dtype a torch.dtype and device a torch device"
        ) from error


class GradDtypeError(TypeError, RuntimeError):
    """An integer or bool tensor asked to require a gradient: a TypeError for the engine's callers, and the
    RuntimeError that torch raises for code ported from it."""


_NON_LEAF_FLAG_MESSAGE = (  # torch's words
    "you can only change requires_grad flags of leaf variables. If you want to use a computed variable in a "
    "subgraph that doesn't require differentiation use var_no_grad = var.detach()."
)


def _checked_grad(tensor: Tensor, value: Any) -> torch.Tensor:
    """The raw gradient for `tensor.grad = value`: torch's checks (type, identity, dtype, device, size), with
    its exception types; a value that requires a gradient itself is refused (the engine has no double backward)."""
    if not isinstance(value, (Tensor, torch.Tensor)):
        raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type {type(value).__name__}")
    if value is tensor:
        raise RuntimeError("can't assign Variable as its own grad")
    if value._requires_grad if isinstance(value, Tensor) else value.requires_grad:
        raise TypeError(
            f"grad: the assigned gradient (shape {tuple(value.shape)}) requires a gradient itself; the engine keeps "
            "gradients as plain values and has no double backward, so its graph would be lost: assign g.detach()"
        )
    raw = value.data if isinstance(value, Tensor) else value
    if raw.dtype != tensor.dtype:
        raise RuntimeError(
            f"attempting to assign a gradient with dtype '{raw.dtype}' to a tensor with dtype '{tensor.dtype}'. "
            "Please ensure that the gradient and the tensor have the same dtype"
        )
    if raw.device != tensor.device:
        raise RuntimeError(
            f"attempting to assign a gradient with device '{raw.device}' to a tensor with device "
            f"'{tensor.device}'. Please ensure that the gradient and the tensor are on the same device"
        )
    if raw.shape != tensor.shape:
        raise RuntimeError(
            f"attempting to assign a gradient of size '{list(raw.shape)}' to a tensor of size "
            f"'{list(tensor.shape)}'. Please ensure that the gradient and the tensor are the same size"
        )
    return raw


def _dispatch(func: Any, args: Sequence, kwargs: dict) -> Any:
    """`_torch_routing.dispatch`, imported on the first call (it imports the functional API, built on Tensor);
    the import then replaces this function, so later calls go straight to the routing."""
    global _dispatch
    from ._torch_routing import dispatch

    _dispatch = dispatch
    return dispatch(func, args, kwargs)


_new_object = object.__new__
_NUMPY_NEEDS_DETACH = "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead."


class Tensor(TensorMethods, MathMethods, ReduceMethods, ShapeMethods, InplaceMethods):
    """A value in the engine: `data` (a raw torch.Tensor), and, once backward ran, its `gradient`.

    `Tensor(data, requires_grad=False, dtype=None, device=None)` accepts a torch tensor (shared, detached),
    a number, a nested list or a NumPy array. Only floating-point (or complex) tensors can require a
    gradient. Results of ops on tensors that require a gradient are recorded on the tape while recording is
    on; `backward()` then fills `.gradient` of the leaves.
    """

    # _hooks: a leaf's hooks (register_hook), set only by the first one: unset, it costs the hot path nothing
    __slots__ = ("__weakref__", "_entry", "_hooks", "_requires_grad", "_retains_grad", "data", "gradient")
    __array_priority__ = 1000  # so `ndarray + Tensor` defers to Tensor.__radd__

    def __init__(
        self,
        data: Any,
        requires_grad: bool = False,
        dtype: torch.dtype | None = None,
        device: str | torch.device | None = None,
    ) -> None:
        if isinstance(data, Tensor):
            data = data.data
        if isinstance(data, torch.Tensor):
            if data.requires_grad:
                raise TypeError(
                    f"Tensor: got a torch tensor that requires grad (shape {tuple(data.shape)}); the engine never "
                    "uses torch.autograd, so its gradient would never reach that tensor. Make the value an engine "
                    "leaf instead: tn.Tensor(t.detach(), requires_grad=True) (or nn.Parameter)"
                )
            data = data.detach()
            if dtype is not None or device is not None:
                data = _converted(data, dtype, device)
        else:
            data = _converted(data, dtype, device)
        self.data: torch.Tensor = data
        self.requires_grad = requires_grad
        self.gradient: torch.Tensor | None = None
        self._entry: tape.Entry | None = None
        self._retains_grad = False

    @classmethod
    def _make(cls, data: torch.Tensor, requires_grad: bool) -> Tensor:
        """Wrap an op's raw result without any conversion (the hot path)."""
        out = _new_object(cls)  # one store per slot, no tuple: about 100 ns less per op than a packed assignment
        out.data = data
        out._requires_grad = requires_grad
        out.gradient = None
        out._entry = None
        out._retains_grad = False
        return out

    # ------------------------------------------------------------ properties and conversions
    @property
    def requires_grad(self) -> bool:
        """Whether backward computes a gradient for this tensor (settable on floating-point tensors only)."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if value and not (self.data.is_floating_point() or self.data.is_complex()):
            raise GradDtypeError(
                f"Tensor: only floating-point tensors can require a gradient, got dtype {self.data.dtype}; "
                "convert first, e.g. Tensor(x, dtype=torch.float32, requires_grad=True)"
            )
        if not value and getattr(self, "_entry", None) is not None:  # no entry yet inside __init__
            raise RuntimeError(_NON_LEAF_FLAG_MESSAGE)
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set `requires_grad` in place and return self, as torch: a non-leaf can't stop requiring a gradient
        (use `detach()`), and only floating-point tensors can require one."""
        if not isinstance(requires_grad, bool):
            raise TypeError(
                f"requires_grad_(): argument 'requires_grad' (position 1) must be bool, not "
                f"{type(requires_grad).__name__}"
            )
        self.requires_grad = requires_grad
        return self

    @property
    def grad(self) -> torch.Tensor | None:
        """Alias of `.gradient` (a raw torch tensor or None), for code ported from PyTorch.

        Assigning checks the value as torch does: None, or a tensor (engine or torch) of this tensor's shape,
        dtype and device; it is kept as it is (not copied).
        """
        return self.gradient

    @grad.setter
    def grad(self, value: Any) -> None:
        self.gradient = None if value is None else _checked_grad(self, value)

    @property
    def is_leaf(self) -> bool:
        return self._entry is None

    @property
    def shape(self) -> torch.Size:
        return self.data.shape

    @property
    def dtype(self) -> torch.dtype:
        return self.data.dtype

    @property
    def device(self) -> torch.device:
        return self.data.device

    @property
    def ndim(self) -> int:
        return self.data.ndim

    def numel(self) -> int:
        return self.data.numel()

    def size(self, dim: int | None = None) -> torch.Size | int:
        return self.data.size() if dim is None else self.data.size(dim)

    def dim(self) -> int:
        return self.data.dim()

    def __len__(self) -> int:
        return len(self.data)

    def item(self) -> Number:
        return self.data.item()

    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The data as a NumPy array sharing its memory, as torch: refused while the tensor requires grad, and
        for data off the CPU, unless `force` (which detaches and copies to the CPU)."""
        if self._requires_grad and not force:
            raise RuntimeError(_NUMPY_NEEDS_DETACH)
        return self.data.numpy(force=force)

    def __dlpack__(self, *args: Any, **kwargs: Any) -> Any:
        """DLPack export of the data (so `torch.as_tensor(x)`, `np.from_dlpack(x)` work), refused while the tensor
        requires grad (the exported tensor would carry no gradient), as torch."""
        if self._requires_grad:
            raise BufferError("Can't export tensors that require gradient, use tensor.detach()")
        return self.data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self) -> tuple[int, int]:
        return self.data.__dlpack_device__()

    def tolist(self) -> Any:
        return self.data.tolist()

    def detach(self) -> Tensor:
        """A new leaf sharing `data`, requiring no gradient."""
        return Tensor._make(self.data, False)

    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """Copy to a device and/or dtype (`torch.Tensor.to` arguments); differentiable to float dtypes."""
        from .ops.movement import To

        out = To.apply(self, args=args, kwargs=kwargs)
        if out.requires_grad and not (out.data.is_floating_point() or out.data.is_complex()):
            return Tensor._make(out.data, False)  # integer or bool results carry no gradient, as in torch
        return out

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self, device: int | str | None = None) -> Tensor:
        return self.to(torch.device("cuda", device) if isinstance(device, int) else device or "cuda")

    def float(self) -> Tensor:
        return self.to(torch.float32)

    def double(self) -> Tensor:
        return self.to(torch.float64)

    def contiguous(self) -> Tensor:
        return self

    # ------------------------------------------------------------ copying and pickling (as torch)
    def __getstate__(self) -> dict[str, Any]:
        """What pickle and copy.copy keep: the data and the flag, not the gradient nor the graph (a pickled
        non-leaf comes back as a leaf), as torch."""
        return {"data": self.data, "requires_grad": self._requires_grad}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.data, self._requires_grad = state["data"], state["requires_grad"]
        self.gradient, self._entry, self._retains_grad = None, None, False

    def __deepcopy__(self, memo: dict) -> Tensor:
        """A copy of a leaf's data and gradient (views stay views of one copy); non-leaves refuse, as torch."""
        if self._entry is not None:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the deepcopy protocol at the "
                "moment. (deepcopy: this tensor was computed by a recorded op; copy y.detach() instead)"
            )
        new = type(self)._make(copy.deepcopy(self.data, memo), self._requires_grad)
        new.gradient = copy.deepcopy(self.gradient, memo)
        memo[id(self)] = new
        return new

    def retain_grad(self) -> None:
        """Keep `.gradient` on this non-leaf tensor after backward (leaves always keep theirs)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: the tensor does not require a gradient")
        self._retains_grad = True
        if self._entry is not None:
            _graph_hooks.extras(self._entry).retained = weakref.ref(self)

    def register_hook(self, hook: Any) -> Any:
        """Call `hook(grad)` with this tensor's gradient (a raw torch tensor) each time backward computes it;
        a returned tensor replaces the gradient. On a leaf, hooks see the summed gradient before it is
        accumulated. Returns a handle whose `.remove()` unregisters the hook (torch's RemovableHandle)."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        return _graph_hooks.register_tensor_hook(self, hook)

    def register_post_accumulate_grad_hook(self, hook: Any) -> Any:
        """Call `hook(tensor)` after backward updated this leaf's `.gradient`; returns a removable handle."""
        if self._entry is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        return _graph_hooks.register_post_accumulate_hook(self, hook)

    def zero_grad(self) -> None:
        self.gradient = None

    def backward(
        self, gradient: Any = None, retain_graph: bool | None = None, create_graph: bool = False, inputs: Any = None
    ) -> None:
        """Accumulate d(self)/d(leaf) into `.gradient` of every leaf that requires a gradient.

        gradient: same shape as self; may be omitted only for a one-element tensor (seeded with 1).
        retain_graph: keep the recorded graph so that backward can run through it again.
        create_graph: not supported yet (higher-order gradients); raises NotImplementedError.
        inputs: only these tensors (leaves or not) receive gradients in `.gradient`, as in torch.
        """
        if create_graph:
            raise NotImplementedError(_graph_hooks.CREATE_GRAPH_MESSAGE)
        if not self.requires_grad:
            raise RuntimeError(
                "backward: this tensor does not require a gradient (no input of the ops that made it "
                "requires one, or it was computed under no_grad() or in an eval-mode module)"
            )
        if gradient is None:
            if self.data.numel() != 1:
                raise RuntimeError(
                    f"backward: gradient can be omitted only for a scalar output; this output has shape "
                    f"{tuple(self.shape)}, so pass backward(gradient=...) of that shape"
                )
            seed = torch.ones_like(self.data)
        else:
            if not isinstance(gradient, (Tensor, torch.Tensor)):
                raise TypeError(
                    f"backward: gradient must be a Tensor or a torch.Tensor of the output's shape "
                    f"{tuple(self.shape)} (or None for a one-element output), got {type(gradient).__name__} "
                    f"{reprlib.repr(gradient)}"
                )
            seed = gradient.data if isinstance(gradient, Tensor) else gradient
            seed = seed.to(device=self.device, dtype=self.dtype)
            if seed.shape != self.shape:
                raise RuntimeError(
                    f"backward: gradient has shape {tuple(seed.shape)} but the output has shape "
                    f"{tuple(self.shape)}; they must match"
                )
        walk = None if inputs is None else _graph_hooks.targets_walk(inputs, "backward", None)
        tape.run_backward((self,), (seed,), bool(retain_graph), walk)

    # ------------------------------------------------------------ interop and display
    @classmethod
    def __torch_function__(cls, func: Any, types: Any, args: Sequence = (), kwargs: Any = None) -> Any:
        """A torch function called with engine tensors (`torch.cat([h, h], 1)`, `raw * x`, `F.softmax(x, 1)`).

        Runs the engine's op where `_torch_routing.ROUTES` has one (recorded, an engine Tensor); otherwise
        torch's function on the raw tensors, its tensor results wrapped as engine Tensors, or a TypeError when a
        gradient would be needed through a function the engine cannot record.
        """
        return _dispatch(func, args, kwargs or {})

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        array = self.numpy()
        return array if dtype is None else array.astype(dtype)

    def __repr__(self) -> str:
        body = repr(self.data).removeprefix("tensor(").removesuffix(")")
        extra = ", requires_grad=True" if self.requires_grad else ""
        if self._entry is not None:
            extra = f", op={self._entry.op_name}"
        return f"Tensor({body}{extra})"

    def __bool__(self) -> bool:
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.data)

    def __int__(self) -> int:
        return int(self.data)

    def __index__(self) -> int:
        return self.data.__index__()

    __hash__ = object.__hash__
