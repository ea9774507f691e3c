"""Resampling layers with torch.nn's signatures and reprs: Upsample (F.interpolate's modes),
UpsamplingNearest2d, UpsamplingBilinear2d, PixelShuffle and PixelUnshuffle.

(`nn.Upsampling`, the course's fused nearest-upsampling + convolution, lives in conv.py.)
"""

from __future__ import annotations

from .._tensor import Tensor
from . import functional as F
from .module import Module

Size = int | tuple[int, ...]
Scale = float | tuple[float, ...]


class Upsample(Module):
    """Resize the spatial dims to `size` or by `scale_factor` (give exactly one) with `mode`: 'nearest',
    'nearest-exact', 'linear' (3-d), 'bilinear' / 'bicubic' (4-d), 'trilinear' (5-d) or 'area'.

    x: (N, C, *spatial) -> (N, C, *resized); align_corners as in F.interpolate.
    """

    def __init__(
        self,
        size: Size | None = None,
        scale_factor: Scale | None = None,
        mode: str = "nearest",
        align_corners: bool | None = None,
        recompute_scale_factor: bool | None = None,
    ) -> None:
        super().__init__()
        self.name = type(self).__name__
        self.size = size
        if isinstance(scale_factor, tuple):
            self.scale_factor: Scale | None = tuple(float(factor) for factor in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode, self.align_corners = mode, align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input: Tensor) -> Tensor:
        return F.interpolate(
            input,
            self.size,
            self.scale_factor,
            self.mode,
            self.align_corners,
            recompute_scale_factor=self.recompute_scale_factor,
        )

    def extra_repr(self) -> str:
        info = f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None else f"size={self.size!r}"
        return f"{info}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """Nearest-neighbour resizing of (N, C, H, W) inputs to `size` or by `scale_factor`."""

    def __init__(self, size: Size | None = None, scale_factor: Scale | None = None) -> None:
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """Bilinear resizing of (N, C, H, W) inputs with align_corners=True, to `size` or by `scale_factor`."""

    def __init__(self, size: Size | None = None, scale_factor: Scale | None = None) -> None:
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


class PixelShuffle(Module):
    """Move channel blocks into space. x: (*, C·r², H, W) -> (*, C, H·r, W·r), r = upscale_factor."""

    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return F.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """Move space blocks into channels. x: (*, C, H·r, W·r) -> (*, C·r², H, W), r = downscale_factor."""

    def __init__(self, downscale_factor: int) -> None:
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return F.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"
