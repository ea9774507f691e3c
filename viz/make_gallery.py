"""Regenerate the gallery in this folder (`make viz`): graphs of the denoisers and an MLP, training curves.

Writes, next to this file:
  course_denoiser.svg              the course network's training graph (loss = MSE to a second noisy copy)
  default_denoiser.svg             the default U-Net's training graph, every op, clustered by module
  default_denoiser_collapsed.svg   the same graph with max_nodes=40: module clusters folded into single nodes
  mlp_gradients.svg                a small MLP after backward(retain_graph=True): gradient norms, saved tensors
  training_curves.png              the shipped pretrained model's training curves (copied, or redrawn from CSV)

Needs Graphviz's `dot` for the SVGs (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz).
"""

from __future__ import annotations

import csv
import shutil
import sys
from pathlib import Path

import torch

import tinygrad_n2n as tn
from tinygrad_n2n import nn
from tinygrad_n2n.viz import draw_graph, render_graph

HERE = Path(__file__).resolve().parent
WEIGHTS = HERE.parent / "tinygrad_n2n" / "n2n" / "weights"


def denoiser_loss(model: nn.Module, size: int = 32) -> tn.Tensor:
    """One Noise2Noise training step's loss: noisy (1, 3, size, size) → model → MSE to another noisy copy."""
    torch.manual_seed(0)
    clean = torch.rand(1, 3, size, size)
    noisy_a = (clean + 0.1 * torch.randn_like(clean)).clamp(0, 1)
    noisy_b = (clean + 0.1 * torch.randn_like(clean)).clamp(0, 1)
    return nn.functional.mse_loss(model(tn.Tensor(noisy_a)), tn.Tensor(noisy_b))


def denoiser_graphs() -> list[Path]:
    """The course and default denoisers' graphs, from tinygrad_n2n.n2n's architecture builder."""
    try:
        from tinygrad_n2n.n2n.models import build
    except ImportError as error:
        print(f"skipping the denoiser graphs: {error}")
        return []
    written = []
    for arch, name in (("course", "course_denoiser"), ("default", "default_denoiser")):
        torch.manual_seed(0)
        model = build(arch)
        loss = denoiser_loss(model)
        written.append(render_graph(draw_graph(loss, params=model), HERE / f"{name}.svg"))
        if arch == "default":
            collapsed = draw_graph(loss, params=model, max_nodes=40)
            written.append(render_graph(collapsed, HERE / f"{name}_collapsed.svg"))
    return written


def mlp_graph() -> Path:
    """A 4 → 8 → 3 MLP on a batch of 5, after backward(retain_graph=True): gradient norms and saved tensors."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    x, target = tn.randn(5, 4), tn.randn(5, 3)
    loss = nn.functional.mse_loss(model(x), target)
    loss.backward(retain_graph=True)
    graph = draw_graph(loss, params=model, show_saved=True, show_grad=True)
    return render_graph(graph, HERE / "mlp_gradients.svg")


def training_curves() -> Path | None:
    """Copy the pretrained model's curves PNG from the weights folder, or redraw it from the metrics CSV."""
    target = HERE / "training_curves.png"
    pngs = sorted(WEIGHTS.glob("*curve*.png")) or sorted(WEIGHTS.glob("*.png"))
    if pngs:
        shutil.copyfile(pngs[0], target)
        return target
    csvs = sorted(WEIGHTS.glob("*.csv"))
    if not csvs:
        print(f"skipping training_curves.png: no curves PNG or metrics CSV in {WEIGHTS}")
        return None
    from tinygrad_n2n.n2n.report import save_curves

    with csvs[0].open() as file:
        history = [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(file)]
    save_curves(history, target, title=f"pretrained default model ({csvs[0].name})")
    return target


def main() -> int:
    if shutil.which("dot") is None:
        print("make_gallery: Graphviz `dot` not found (apt-get install graphviz / brew install graphviz)")
        return 1
    written = [*denoiser_graphs(), mlp_graph()]
    curves = training_curves()
    written += [curves] if curves else []
    for path in written:
        print(f"wrote {path.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
