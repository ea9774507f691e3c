"""A small ResNet on scikit-learn's 8×8 digits, written for PyTorch and ported by changing one import.

Residual blocks of Conv2d + BatchNorm2d + GELU, a strided block with a 1×1 projection shortcut,
AdaptiveAvgPool2d and Dropout before the classifier; AdamW with a OneCycleLR schedule stepped per batch and
the gradient norm clipped by nn.utils.clip_grad_norm_; BatchNorm's running statistics serve the evaluation.
examples/port_resnet.py runs on tinygrad_n2n; examples/port_resnet_torch.py is its torch.nn twin. The two
differ only in the line that imports `nn` and `optim` (tests/test_examples.py checks this and that both print
the same losses: in float64 with the same seed they draw the same weights and dropout masks).

Run: python examples/port_resnet.py [--epochs 3]
"""

from __future__ import annotations

import argparse

import torch
from sklearn.datasets import load_digits

from tinygrad_n2n import nn, optim


def load_data() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """-> x_train (1347, 1, 8, 8) float64 in [0, 1], y_train (1347,), x_test (450, 1, 8, 8), y_test (450,)."""
    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float64).unsqueeze(1) / 16.0
    labels = torch.tensor(digits.target, dtype=torch.int64)
    return images[:1347], labels[:1347], images[1347:], labels[1347:]


class Block(nn.Module):
    """conv-BN-GELU-conv-BN plus the shortcut, then GELU. x (N, c_in, H, W) -> (N, c_out, H/stride, W/stride)."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.act = nn.GELU()
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        out = self.act(self.bn1(self.conv1(x)))
        return self.act(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNet(nn.Module):
    """x (N, 1, 8, 8) -> logits (N, 10)."""

    def __init__(self, width: int = 8) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.GELU())
        self.blocks = nn.Sequential(Block(width, width), Block(width, 2 * width, stride=2))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(2 * width, 10))

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)))


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of correctly classified digits, in eval mode (BatchNorm uses its running statistics)."""
    model.eval()
    with torch.no_grad():
        predictions = torch.argmax(model(x), dim=1)
    model.train()
    return (predictions == y).double().mean().item()


def main(epochs: int = 3, batch_size: int = 64, seed: int = 0, verbose: bool = True) -> dict:
    """Train and evaluate; returns {"losses": the loss of every step, "test_accuracy": float}."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    x_train, y_train, x_test, y_test = load_data()
    model = ResNet().to(torch.float64)
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
    steps_per_epoch = -(-len(x_train) // batch_size)
    scheduler = optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-2, epochs=epochs, steps_per_epoch=steps_per_epoch)

    losses = []
    for epoch in range(epochs):
        order = torch.randperm(len(x_train), generator=generator)
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            optimizer.zero_grad()
            loss = criterion(model(x_train[batch]), y_train[batch])
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
        if verbose:
            print(f"epoch {epoch + 1:2d}  loss {sum(losses[-steps_per_epoch:]) / steps_per_epoch:.6f}")
    accuracy = evaluate(model, x_test, y_test)
    if verbose:
        print(f"test accuracy: {accuracy:.1%}")
    return {"losses": losses, "test_accuracy": accuracy}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args()
    main(epochs=arguments.epochs, seed=arguments.seed)
