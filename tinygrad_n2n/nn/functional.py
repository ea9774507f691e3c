"""`tinygrad_n2n.nn.functional`: the engine's op functions under torch's module path, plus `dropout`.

So `import torch.nn.functional as F` ports as `import tinygrad_n2n.nn.functional as F`.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch

from .._tensor import Tensor
from ..activations import (
    celu,
    elu,
    gelu,
    hardsigmoid,
    hardswish,
    hardtanh,
    logsigmoid,
    mish,
    relu6,
    selu,
    silu,
    softplus,
)
from ..class_losses import nll_loss
from ..functional import (
    avg_pool2d,
    conv_transpose2d,
    cross_entropy,
    l1_loss,
    leaky_relu,
    linear,
    log_softmax,
    max_pool2d,
    mse_loss,
    relu,
    sigmoid,
    softmax,
    tanh,
    upsample_conv2d,
)
from ..losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    huber_loss,
    kl_div,
    smooth_l1_loss,
)
from ..normalization import (
    batch_norm,
    cosine_similarity,
    group_norm,
    instance_norm,
    layer_norm,
    normalize,
)
from ..spatial import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    avg_pool1d,
    conv1d,
    conv2d,
    conv_transpose1d,
    dropout1d,
    dropout2d,
    dropout3d,
    embedding,
    fold,
    interpolate,
    max_pool1d,
    one_hot,
    pad,
    pixel_shuffle,
    pixel_unshuffle,
    unfold,
)


def upsample_nearest(input: Any, size: Any = None, scale_factor: Any = None) -> Tensor:
    """torch's deprecated F.upsample_nearest: `interpolate(input, size, scale_factor, mode="nearest")`.

    (`tinygrad_n2n.functional.upsample_nearest(x, scale_factor)` is the engine's integer-factor form.)
    """
    warnings.warn(
        "`nn.functional.upsample_nearest` is deprecated. Use `nn.functional.interpolate` instead.", stacklevel=2
    )
    return interpolate(input, size, scale_factor, mode="nearest")


def dropout(x: Any, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero elements with probability p and scale the rest by 1/(1-p) when `training`; any shape.

    `inplace` is accepted for compatibility; the result is always a new tensor.
    """
    x = x if isinstance(x, Tensor) else Tensor(x)
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: p must be a probability in [0, 1], got {p!r}")
    if not training or p == 0 or x.numel() == 0:
        return x
    if p == 1:
        return x * 0.0
    mask = torch.empty_like(x.data).bernoulli_(1 - p)
    return x * Tensor(mask.div_(1 - p))


__all__ = [
    "avg_pool2d",
    "conv2d",
    "conv_transpose2d",
    "cross_entropy",
    "dropout",
    "l1_loss",
    "leaky_relu",
    "linear",
    "log_softmax",
    "max_pool2d",
    "mse_loss",
    "pad",
    "relu",
    "sigmoid",
    "softmax",
    "tanh",
    "upsample_conv2d",
    "upsample_nearest",
]
# torch.nn.functional's activations, losses and normalisations
__all__ += [
    "batch_norm",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "celu",
    "cosine_similarity",
    "elu",
    "gelu",
    "group_norm",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "huber_loss",
    "instance_norm",
    "kl_div",
    "layer_norm",
    "logsigmoid",
    "mish",
    "nll_loss",
    "normalize",
    "relu6",
    "selu",
    "silu",
    "smooth_l1_loss",
    "softplus",
]
# torch.nn.functional's spatial ops (tinygrad_n2n.spatial; conv2d and pad above come from there too)
__all__ += [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "avg_pool1d",
    "conv1d",
    "conv_transpose1d",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "embedding",
    "fold",
    "interpolate",
    "max_pool1d",
    "one_hot",
    "pixel_shuffle",
    "pixel_unshuffle",
    "unfold",
]
