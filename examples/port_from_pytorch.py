"""A complete PyTorch-style training script: data, model, loss, optimizer, lr schedule, loop, evaluation.

examples/port_from_pytorch.py runs on tinygrad_n2n; examples/port_from_pytorch_torch.py is its torch.nn twin.
The two files differ only in the line that imports `nn` and `optim` (tests/test_examples.py checks this and
that both scripts print the same losses: with the same seed they draw the same initial weights and dropout
masks, and their updates agree to ~1e-15 in float64).

Run: python examples/port_from_pytorch.py [--epochs 30]
"""

from __future__ import annotations

import argparse
import math

import torch

from tinygrad_n2n import nn, optim


def make_spirals(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Three noisy interleaved spiral arms, one class each. -> x: (n, 2) float64, y: (n,) int64."""
    y = torch.randint(0, 3, (n,), generator=generator)
    radius = torch.rand(n, generator=generator, dtype=torch.float64)
    angle = 4.0 * radius + y * (2 * math.pi / 3) + 0.2 * torch.randn(n, generator=generator, dtype=torch.float64)
    x = torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=1)
    return x, y


class Classifier(nn.Module):
    """An MLP: x (N, 2) -> logits (N, 3)."""

    def __init__(self, hidden: int = 64) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(2, hidden), nn.ReLU(), nn.Dropout(0.1), nn.Linear(hidden, hidden), nn.Tanh()
        )
        self.head = nn.Linear(hidden, 3)

    def forward(self, x):
        return self.head(self.body(x))


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of correctly classified points, in eval mode."""
    model.eval()
    with torch.no_grad():
        predictions = torch.argmax(model(x), dim=1)
    model.train()
    return (predictions == y).double().mean().item()


def main(epochs: int = 30, batch_size: int = 32, seed: int = 0, verbose: bool = True) -> dict:
    """Train and evaluate; returns {"losses": mean training loss per epoch, "test_accuracy": float}."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    x_train, y_train = make_spirals(600, generator)
    x_test, y_test = make_spirals(300, generator)

    model = Classifier().to(torch.float64)
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-4)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.5)

    losses = []
    for epoch in range(epochs):
        order = torch.randperm(len(x_train), generator=generator)
        total = 0.0
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            optimizer.zero_grad()
            loss = criterion(model(x_train[batch]), y_train[batch])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        scheduler.step()
        losses.append(total / len(order))
        if verbose:
            print(f"epoch {epoch + 1:3d}  loss {losses[-1]:.6f}  lr {scheduler.get_last_lr()[0]:.5f}")
    accuracy = evaluate(model, x_test, y_test)
    if verbose:
        print(f"test accuracy: {accuracy:.1%}")
    return {"losses": losses, "test_accuracy": accuracy}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args()
    main(epochs=arguments.epochs, seed=arguments.seed)
