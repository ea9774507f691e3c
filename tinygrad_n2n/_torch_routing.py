"""Torch functions called on engine tensors: the one routing table, used by `Tensor.__torch_function__`.

`torch.cat([h, h], 1)`, `torch.sigmoid(x)` or `F.softmax(x, dim=1)` with an engine tensor among the arguments
come to `dispatch`, which either

- runs the engine's op: `ROUTES` maps the torch function to an adapter with torch's signature (argument names,
  defaults, int-or-pair conventions) that calls the engine function, so the result is an engine Tensor,
  recorded on the tape like any engine op; or
- runs torch's function on the raw tensors and hands back its tensor results as engine Tensors that need no
  gradient (non-tensor results such as bools, ints and strings as they are). This is refused with a
  TypeError that names the function and what to write instead whenever a gradient would be silently lost:
  some engine argument requires a gradient while recording is on and the result is differentiable (a
  floating-point tensor), or the call writes in place (`out=`, `inplace=True`, `raw[i] = x`, `t.add_(x)`).

Most of torch.nn.functional runs in `tinygrad_n2n.nn.functional`, whose functions take torch's signature
(`SAME_SIGNATURE`). An adapter raises `Unsupported` for arguments its engine op does not cover (`out=`,
`inplace=True`, `div`'s rounding modes, ...); the call then takes the second path, with that reason in any error.
Raw torch tensors that require a gradient from torch.autograd are refused outright: the engine never uses
torch.autograd, so their gradient would be lost too.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as torch_F

from . import _torch_adapters as adapters
from . import tape
from ._tensor import Tensor
from ._torch_adapters import Unsupported
from .nn import functional as nn_functional


def dispatch(func: Callable, args: tuple, kwargs: dict) -> Any:
    """Run `func(*args, **kwargs)`, where some argument is an engine Tensor (see the module docstring)."""
    _refuse_autograd_tensors(func, args, kwargs)
    route = ROUTES.get(func)
    if route is None:
        return _run_on_raw(func, args, kwargs, None)
    try:
        return route(*args, **kwargs)
    except Unsupported as unsupported:
        return _run_on_raw(func, args, kwargs, str(unsupported))


# ---------------------------------------------------------------- the fallback: torch's function on raw tensors


def _run_on_raw(func: Callable, args: tuple, kwargs: dict, reason: str | None) -> Any:
    engine, raw = _tensors((args, kwargs))
    needs_grad = tape.is_recording() and any(t.requires_grad for t in _inputs(func, args, kwargs))
    writes = _writes_in_place(func, kwargs)
    if needs_grad and writes and getattr(func, "__module__", None) != "torch.nn.init":  # torch.nn.init: no_grad
        raise TypeError(_lost_gradient(func, reason or "it writes into a tensor in place", _OUT_OF_PLACE))
    result = func(*_unwrap(args), **_unwrap(kwargs))
    if needs_grad and not writes and _differentiable(result):
        raise TypeError(_lost_gradient(func, reason or "the engine has no op for it", _GENERIC_ADVICE))
    originals = {id(t.data): t for t in engine} | {id(t): t for t in raw}
    return _wrap(result, originals)


def _inputs(func: Callable, args: tuple, kwargs: dict) -> list[Tensor]:
    """The engine tensors whose values (not only shape, dtype or device) the result depends on."""
    if func in _TEMPLATES:
        return []
    return _tensors(args[:1] if func in _SELF_ONLY else (args, kwargs))[0]


def _tensors(value: Any) -> tuple[list[Tensor], list[torch.Tensor]]:
    """The engine tensors and the raw torch tensors inside nested lists, tuples and dicts."""
    engine: list[Tensor] = []
    raw: list[torch.Tensor] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, Tensor):
            engine.append(item)
        elif isinstance(item, torch.Tensor):
            raw.append(item)
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
    return engine, raw


def _unwrap(value: Any) -> Any:
    """`value` with every engine Tensor replaced by its raw torch tensor (lists, tuples and dicts too)."""
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, (list, tuple)):
        items = [_unwrap(v) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    return value


def _wrap(value: Any, originals: dict[int, Any]) -> Any:
    """Tensor results as engine Tensors needing no gradient; an argument handed back (`t.add_(x)`) as itself."""
    if isinstance(value, torch.Tensor):
        original = originals.get(id(value))
        return original if original is not None else Tensor._make(value, False)
    if isinstance(value, (list, tuple)):
        items = [_wrap(v, originals) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)  # namedtuple or structseq
    return value


def _differentiable(value: Any) -> bool:
    if isinstance(value, torch.Tensor):
        return value.is_floating_point() or value.is_complex()
    if isinstance(value, (list, tuple)):
        return any(_differentiable(v) for v in value)
    return False


_IN_PLACE_OPERATORS = {"__setitem__", "__iadd__", "__isub__", "__imul__", "__itruediv__", "__ipow__", "__imatmul__"}


def _writes_in_place(func: Callable, kwargs: dict) -> bool:
    name = getattr(func, "__name__", "")
    trailing_underscore = name.endswith("_") and not name.endswith("__")  # add_, copy_, normal_
    return (
        trailing_underscore
        or name in _IN_PLACE_OPERATORS
        or bool(kwargs.get("inplace"))
        or kwargs.get("out") is not None
    )


def _name(func: Callable) -> str:
    return torch.overrides.resolve_name(func) or getattr(func, "__qualname__", repr(func))


def _lost_gradient(func: Callable, reason: str, advice: str) -> str:
    return (
        f"{_name(func)} on an engine Tensor that requires a gradient: {reason}, so the gradient would be "
        f"silently lost. {advice}"
    )


def _refuse_autograd_tensors(func: Callable, args: tuple, kwargs: dict) -> None:
    """Raw arguments (or items of list arguments, as torch.cat's) that torch.autograd tracks: a TypeError."""
    if not torch.is_grad_enabled():
        return
    for value in (*args, *kwargs.values()) if kwargs else args:
        for raw in value if isinstance(value, (list, tuple)) else (value,):
            if isinstance(raw, torch.Tensor) and raw.requires_grad:
                raise TypeError(
                    f"{_name(func)}: a torch tensor of shape {tuple(raw.shape)} that requires a gradient from "
                    "torch.autograd meets an engine Tensor; the engine never uses torch.autograd, so that gradient "
                    "would be silently lost. Make it an engine tensor (tinygrad_n2n.Tensor(t, requires_grad=True), "
                    "nn.Parameter, tinygrad_n2n.nn layers), or pass t.detach() if it needs no gradient."
                )


_GENERIC_ADVICE = (
    "Write it with engine ops (tinygrad_n2n.functional, Tensor methods, or the torch functions listed in "
    "tinygrad_n2n._torch_routing.ROUTES), or call it under torch.no_grad() / on x.detach() when no gradient "
    "should flow through it."
)
_OUT_OF_PLACE = (
    "Write it out of place (y = f(x), a = a + b), or build the tensor with torch.cat, torch.stack or "
    "torch.where instead of writing into one."
)

# the result depends only on the shape, dtype or device of these functions' engine arguments
_TEMPLATES = {
    torch.zeros_like,
    torch.ones_like,
    torch.empty_like,
    torch.full_like,
    torch.rand_like,
    torch.randn_like,
    torch.randint_like,
    torch.Tensor.new_zeros,
    torch.Tensor.new_ones,
    torch.Tensor.new_empty,
    torch.Tensor.new_full,
    torch.Tensor.new_tensor,
}
# ... and of every engine argument after the first (`raw.expand_as(x)`, `raw.type_as(x)`)
_SELF_ONLY = {
    torch.Tensor.view_as,
    torch.Tensor.expand_as,
    torch.Tensor.reshape_as,
    torch.Tensor.type_as,
    torch.Tensor.to,
}


# ---------------------------------------------------------------- the table


ROUTES: dict[Callable, Callable] = {
    # arithmetic, also as torch.Tensor methods: `raw + x` and `raw.add(x)` reach torch.Tensor.add
    torch.add: adapters.add,
    torch.Tensor.add: adapters.add,
    torch.sub: adapters.sub,
    torch.subtract: adapters.sub,
    torch.Tensor.sub: adapters.sub,
    torch.mul: adapters.mul,
    torch.multiply: adapters.mul,
    torch.Tensor.mul: adapters.mul,
    torch.div: adapters.div,
    torch.divide: adapters.div,
    torch.true_divide: adapters.div,
    torch.Tensor.div: adapters.div,
    torch.pow: adapters.pow,
    torch.Tensor.pow: adapters.pow,
    torch.Tensor.__pow__: adapters.pow,
    torch.matmul: adapters.matmul,
    torch.Tensor.matmul: adapters.matmul,
    torch.mm: adapters.matrix_product(2),
    torch.Tensor.mm: adapters.matrix_product(2),
    torch.bmm: adapters.matrix_product(3),
    torch.Tensor.bmm: adapters.matrix_product(3),
    torch.dot: adapters.method("dot"),
    torch.Tensor.dot: adapters.method("dot"),
    torch.outer: adapters.outer,
    torch.Tensor.outer: adapters.outer,
    torch.einsum: adapters.einsum,
    torch.maximum: adapters.maximum,
    torch.Tensor.maximum: adapters.maximum,
    torch.minimum: adapters.minimum,
    torch.Tensor.minimum: adapters.minimum,
    torch.where: adapters.where,
    torch.Tensor.where: adapters.tensor_where,
    # unary
    torch.neg: adapters.unary("neg"),
    torch.negative: adapters.unary("neg"),
    torch.exp: adapters.unary("exp"),
    torch.log: adapters.unary("log"),
    torch.sqrt: adapters.unary("sqrt"),
    torch.abs: adapters.unary("abs"),
    torch.tanh: adapters.unary("tanh"),
    torch.sigmoid: adapters.unary("sigmoid"),
    torch.relu: adapters.unary("relu"),
    torch.square: adapters.square,
    torch.log1p: adapters.unary("log1p"),
    torch.rsqrt: adapters.unary("rsqrt"),
    torch.reciprocal: adapters.unary("reciprocal"),
    torch.sin: adapters.unary("sin"),
    torch.cos: adapters.unary("cos"),
    torch.erf: adapters.unary("erf"),
    torch.sign: adapters.unary("sign"),
    torch.floor: adapters.unary("floor"),
    torch.round: adapters.method("round"),
    torch.clamp: adapters.clamp,
    torch.clip: adapters.clamp,
    torch.Tensor.clamp: adapters.clamp,
    torch.clamp_min: adapters.method("clamp_min"),
    torch.clamp_max: adapters.method("clamp_max"),
    torch.nan_to_num: adapters.method("nan_to_num"),
    torch.lerp: adapters.method("lerp"),
    torch.Tensor.lerp: adapters.method("lerp"),
    torch.masked_fill: adapters.method("masked_fill"),
    torch.Tensor.masked_fill: adapters.method("masked_fill"),
    # reductions
    torch.sum: adapters.sum,
    torch.mean: adapters.mean,
    torch.max: adapters.extreme(largest=True),
    torch.min: adapters.extreme(largest=False),
    torch.prod: adapters.method("prod"),
    torch.amax: adapters.method("amax"),
    torch.amin: adapters.method("amin"),
    torch.var: adapters.method("var"),
    torch.std: adapters.method("std"),
    torch.norm: adapters.norm,
    torch.logsumexp: adapters.method("logsumexp"),
    torch.cumsum: adapters.method("cumsum"),
    torch.sort: adapters.method("sort"),
    torch.topk: adapters.method("topk"),
    # movement
    torch.cat: adapters.cat,
    torch.concat: adapters.cat,
    torch.concatenate: adapters.concatenate,
    torch.stack: adapters.stack,
    torch.flatten: adapters.flatten,
    torch.reshape: adapters.reshape,
    torch.transpose: adapters.transpose,
    torch.swapaxes: adapters.transpose,
    torch.swapdims: adapters.transpose,
    torch.permute: adapters.permute,
    torch.squeeze: adapters.squeeze,
    torch.unsqueeze: adapters.unsqueeze,
    torch.t: adapters.t,
    torch.unflatten: adapters.method("unflatten"),
    torch.split: adapters.method("split"),
    torch.chunk: adapters.method("chunk"),
    torch.unbind: adapters.method("unbind"),
    torch.flip: adapters.method("flip"),
    torch.roll: adapters.method("roll"),
    torch.tril: adapters.method("tril"),
    torch.triu: adapters.method("triu"),
    torch.meshgrid: adapters.meshgrid,
    # indexing
    torch.gather: adapters.method("gather"),
    torch.index_select: adapters.method("index_select"),
    torch.scatter: adapters.scatter,
    torch.Tensor.scatter: adapters.scatter,
    # torch.nn.functional (F.conv2d is torch.conv2d, F.softmax is not torch.softmax): those whose engine
    # function takes other argument names go through an adapter; the rest are in SAME_SIGNATURE below
    torch_F.linear: adapters.linear,
    torch_F.conv_transpose2d: adapters.conv_transpose2d,
    torch_F.relu: adapters.relu,
    torch_F.leaky_relu: adapters.leaky_relu,
    torch_F.softmax: adapters.softmax,
    torch.softmax: adapters.softmax,
    torch_F.log_softmax: adapters.log_softmax,
    torch.log_softmax: adapters.log_softmax,
    torch_F.dropout: adapters.dropout,
    torch.max_pool2d: nn_functional.max_pool2d,
    torch_F.max_pool2d_with_indices: functools.partial(nn_functional.max_pool2d, return_indices=True),
    torch_F.max_pool1d_with_indices: functools.partial(nn_functional.max_pool1d, return_indices=True),
    torch_F.adaptive_max_pool1d_with_indices: functools.partial(nn_functional.adaptive_max_pool1d, return_indices=True),
    torch_F.adaptive_max_pool2d_with_indices: functools.partial(nn_functional.adaptive_max_pool2d, return_indices=True),
}

# torch.nn.functional's functions that tinygrad_n2n.nn.functional implements with torch's signature (the same
# argument names, order and defaults), so torch's call runs there unchanged
SAME_SIGNATURE = (
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "batch_norm",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "celu",
    "conv1d",
    "conv2d",
    "conv_transpose1d",
    "cosine_similarity",
    "cross_entropy",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "elu",
    "embedding",
    "fold",
    "gelu",
    "group_norm",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "huber_loss",
    "instance_norm",
    "interpolate",
    "kl_div",
    "l1_loss",
    "layer_norm",
    "logsigmoid",
    "max_pool1d",
    "max_pool2d",
    "mish",
    "mse_loss",
    "nll_loss",
    "normalize",
    "pad",
    "pixel_shuffle",
    "pixel_unshuffle",
    "relu6",
    "selu",
    "silu",
    "smooth_l1_loss",
    "softplus",
    "unfold",
)
ROUTES.update({getattr(torch_F, name): getattr(nn_functional, name) for name in SAME_SIGNATURE})
