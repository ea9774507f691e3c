"""The parity reference: the same networks, data, batches, seed and schedule trained with torch.nn + torch.optim.

This file (and only this one in the package) uses torch.autograd, on purpose: it is the yardstick the engine is
measured against. Its state_dict keys equal the engine networks', so both start from identical weights.

    python -m tinygrad_n2n.n2n.torch_baseline --arch default --epochs 8 --lr 2e-3 --out runs/torch_default
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import torch.nn.functional as torch_F
from torch import nn

from .data import Dataset, DataSpec, load_data
from .metrics import psnr
from .models import DEFAULT_WIDTH, build
from .pipeline import METRICS
from .report import write_csv
from .train import TrainConfig, batches


class TorchUpsampling(nn.Module):
    """Nearest ×2 upsampling then a 3×3 conv, with the parameters `weight`, `bias` held directly (as ours)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        conv = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.weight, self.bias = conv.weight, conv.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, C_in, H, W) -> (N, C_out, 2H, 2W)."""
        return torch_F.conv2d(torch_F.interpolate(x, scale_factor=2, mode="nearest"), self.weight, self.bias, padding=1)


def _block(in_channels: int, out_channels: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1), nn.LeakyReLU(0.1)]


class TorchUNet(nn.Module):
    """torch.nn twin of `models.UNet` (same layers, same state_dict keys)."""

    def __init__(self, width: int = DEFAULT_WIDTH) -> None:
        super().__init__()
        c = width
        self.enc0 = nn.Sequential(*_block(3, c), *_block(c, c))
        self.enc1 = nn.Sequential(*_block(c, 2 * c, stride=2), *_block(2 * c, 2 * c))
        self.bottom = nn.Sequential(
            *_block(2 * c, 2 * c, stride=2), *_block(2 * c, 2 * c), TorchUpsampling(2 * c, 2 * c), nn.LeakyReLU(0.1)
        )
        self.dec1 = nn.Sequential(*_block(4 * c, 2 * c), TorchUpsampling(2 * c, c), nn.LeakyReLU(0.1))
        self.dec0 = nn.Sequential(*_block(2 * c, c), nn.Conv2d(c, 3, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, 3, H, W) -> (N, 3, H, W), as `models.UNet.forward`."""
        skip0 = self.enc0(x)
        skip1 = self.enc1(skip0)
        up1 = self.dec1(torch.cat([self.bottom(skip1), skip1], dim=1))
        return x + self.dec0(torch.cat([up1, skip0], dim=1))


def torch_course_net() -> nn.Sequential:
    """torch.nn twin of `models.course_net`."""
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(32, 64, 3, stride=2, padding=1),
        nn.ReLU(),
        TorchUpsampling(64, 32),
        nn.ReLU(),
        TorchUpsampling(32, 3),
        nn.Sigmoid(),
    )


def twin(arch: str, seed: int) -> nn.Module:
    """The torch network with exactly the weights the engine's `train` starts from (same seed)."""
    torch.manual_seed(seed)
    engine_net = build(arch)
    net = TorchUNet() if arch == "default" else torch_course_net()
    net.load_state_dict({key: value.clone() for key, value in engine_net.state_dict().items()})
    return net


@torch.no_grad()
def _val_psnr(net: nn.Module, noisy: torch.Tensor, clean: torch.Tensor) -> float:
    net.eval()
    out = torch.cat([net(noisy[i : i + 256].float() / 255).clamp(0, 1) * 255 for i in range(0, len(noisy), 256)])
    net.train()
    return psnr(out, clean)


def train_torch(arch: str, config: TrainConfig, dataset: Dataset, out_dir: Path) -> list[dict[str, float]]:
    """Train the torch twin of `arch` exactly as `run_training` trains the engine's; returns the per-epoch history.

    dataset.train: (input, target), dataset.val: (noisy, clean), each (N, 3, H, W) in [0, 255]. Same batches,
    Adam and per-step cosine schedule as the engine run with `config`; out_dir/metrics.csv after every epoch.
    """
    (inputs, targets), (noisy, clean) = dataset.train, dataset.val
    net = twin(arch, config.seed)
    optimizer = torch.optim.Adam(net.parameters(), lr=config.lr)
    steps = -(-len(inputs) // config.batch_size)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs * steps)
    history = []
    for epoch in range(config.epochs):
        started, loss_sum = time.perf_counter(), 0.0
        for batch_in, batch_target in batches(inputs, targets, config, epoch):
            loss = torch_F.mse_loss(net(batch_in.float() / 255), batch_target.float() / 255)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            loss_sum += loss.item() * len(batch_in)
        seconds = time.perf_counter() - started
        row = {"epoch": epoch + 1, "train_loss": loss_sum / len(inputs), "lr": optimizer.param_groups[0]["lr"]}
        row.update(seconds=seconds, val_psnr=_val_psnr(net, noisy, clean), noisy_psnr=psnr(noisy, clean))
        history.append(row)
        print(f"epoch {epoch + 1}: loss {row['train_loss']:.6f}, val PSNR {row['val_psnr']:.3f} dB, {seconds:.0f} s")
        write_csv(history, out_dir / METRICS)
    return history


def main(argv: list[str] | None = None) -> None:
    """`python -m tinygrad_n2n.n2n.torch_baseline`: the parity run on the bundled photos."""
    parser = argparse.ArgumentParser(description="torch.nn + torch.optim parity run (same settings as `train`)")
    parser.add_argument("--arch", choices=("default", "course"), default="default")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--train-size", type=int, default=20_000)
    parser.add_argument("--noise", default="gaussian:25")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", default="runs/torch")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    dataset = load_data(DataSpec(train_size=args.train_size, noise=args.noise, seed=args.seed))
    config = TrainConfig(args.epochs, args.batch_size, args.lr, "adam", "cosine", args.seed)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    train_torch(args.arch, config, dataset, out_dir)


if __name__ == "__main__":
    main()
