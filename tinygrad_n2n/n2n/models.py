"""The denoisers, built only from the engine's layers: the course network and a small U-Net (the default).

Both map a batch in [0, 1], x: (N, 3, H, W) with H, W multiples of `DOWNSAMPLING` (4), to (N, 3, H, W).
"""

from __future__ import annotations

from .. import cat
from .._tensor import Tensor
from ..nn import Conv2d, LeakyReLU, Module, ReLU, Sequential, Sigmoid, Upsampling

ARCHITECTURES = ("default", "course")
DOWNSAMPLING = 4  # both networks halve the resolution twice: inputs are padded to a multiple of this
DEFAULT_WIDTH = 16


def course_net() -> Sequential:
    """The course's network: two stride-2 convs down, two upsample+conv up, sigmoid. (N,3,H,W) -> (N,3,H,W)."""
    return Sequential(
        Conv2d(3, 32, 3, stride=2, padding=1),
        ReLU(),
        Conv2d(32, 64, 3, stride=2, padding=1),
        ReLU(),
        Upsampling(64, 32),
        ReLU(),
        Upsampling(32, 3),
        Sigmoid(),
    )


def _conv_block(in_channels: int, out_channels: int, stride: int = 1) -> list[Module]:
    return [Conv2d(in_channels, out_channels, 3, stride=stride, padding=1), LeakyReLU(0.1)]


class UNet(Module):
    """A two-level U-Net with skip connections (tn.cat) and a global residual: out = x + f(x).

    Widths c (full resolution), 2c (1/2 and 1/4); downsampling by stride-2 convs, upsampling by the fused
    nearest-upsample + conv (`Upsampling`); LeakyReLU(0.1) as in the Noise2Noise paper.
    x: (N, 3, H, W) in [0, 1], H and W multiples of 4 -> (N, 3, H, W), not clipped.
    """

    def __init__(self, width: int = DEFAULT_WIDTH) -> None:
        super().__init__()
        c = width
        self.width = width
        self.enc0 = Sequential(*_conv_block(3, c), *_conv_block(c, c))
        self.enc1 = Sequential(*_conv_block(c, 2 * c, stride=2), *_conv_block(2 * c, 2 * c))
        self.bottom = Sequential(
            *_conv_block(2 * c, 2 * c, stride=2), *_conv_block(2 * c, 2 * c), Upsampling(2 * c, 2 * c), LeakyReLU(0.1)
        )
        self.dec1 = Sequential(*_conv_block(4 * c, 2 * c), Upsampling(2 * c, c), LeakyReLU(0.1))
        self.dec0 = Sequential(*_conv_block(2 * c, c), Conv2d(c, 3, 3, padding=1))

    def forward(self, x: Tensor) -> Tensor:
        """x: (N, 3, H, W) -> (N, 3, H, W): encoder, decoder with skip connections, plus x."""
        skip0 = self.enc0(x)
        skip1 = self.enc1(skip0)
        up1 = self.dec1(cat([self.bottom(skip1), skip1], dim=1))
        return x + self.dec0(cat([up1, skip0], dim=1))

    def extra_repr(self) -> str:
        """Shown in repr(net): the width."""
        return f"width={self.width}"


def build(arch: str = "default", width: int = DEFAULT_WIDTH) -> Module:
    """A fresh denoiser by name ('default': UNet(width), 'course': course_net())."""
    if arch == "default":
        return UNet(width)
    if arch == "course":
        return course_net()
    raise ValueError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)}")
