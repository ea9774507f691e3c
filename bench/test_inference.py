"""Workload 6: inference, denoising one 1x3x512x512 image in [0, 255] with the default denoiser.

Ours is the course API, `Model().predict(image)` (eval mode, no tape); torch's is the torch.nn twin in
eval mode under `torch.no_grad()`, the same scaling to [0, 1], clamping and scaling back.
"""

from __future__ import annotations

import torch

from bench.workload import Workload, shapes_of
from tinygrad_n2n.n2n import Model
from tinygrad_n2n.n2n.torch_baseline import twin

SIZE = 512
SEED = 0


def predict(impl: str, device: str) -> Workload:
    """Denoise a random 1x3x512x512 image (same weights on both sides)."""
    image = (torch.rand(1, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(SEED)) * 255).to(device)
    shapes = shapes_of(image=image)
    if impl == "tinygrad_n2n":
        model = Model(device=device, seed=SEED)
        return Workload(lambda: model.predict(image), shapes)
    net = twin("default", SEED).to(device).eval()

    @torch.no_grad()
    def torch_predict() -> torch.Tensor:
        return (net(image / 255).clamp(0, 1) * 255).float()

    return Workload(torch_predict, shapes)


def test_predict_512(run):
    run("inference: predict 1x3x512x512, default U-Net", predict)
