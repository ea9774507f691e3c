"""torch.nn.functional's spatial ops: convolutions, pooling, resampling, padding, embedding, channel dropout.

Every name has torch's signature, defaults and numbers, and raises torch's exception types, with the op's name
in front, for the arguments torch refuses. The ops compose the engine's primitives, plus a few of their own
where a composition would be slow: `ops.resample.Resample` (interpolation, non-constant padding),
`ops.embedding.Embedding` and `ops.fold` (unfold / fold). Max pools take their arg-max from torch's kernels.

`conv2d` and `pad` extend `tinygrad_n2n.functional`'s (string paddings and unbatched inputs; the reflect,
replicate and circular modes) and delegate to them for the rest.
"""

from .convolution import (
    conv1d,
    conv2d,
    conv_transpose1d,
    conv_transpose_output_padding,
    conv_with_padding_mode,
    fold,
    reversed_padding,
    unfold,
)
from .dropout import dropout1d, dropout2d, dropout3d
from .embedding import embedding, one_hot
from .padding import pad
from .pooling import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    avg_pool1d,
    max_pool1d,
)
from .resampling import interpolate, pixel_shuffle, pixel_unshuffle

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "avg_pool1d",
    "conv1d",
    "conv2d",
    "conv_transpose1d",
    "conv_transpose_output_padding",
    "conv_with_padding_mode",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "embedding",
    "fold",
    "interpolate",
    "max_pool1d",
    "one_hot",
    "pad",
    "pixel_shuffle",
    "pixel_unshuffle",
    "reversed_padding",
    "unfold",
]
