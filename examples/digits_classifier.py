"""Train a small convnet on scikit-learn's bundled 8×8 digits with tinygrad_n2n and print the test accuracy.

1797 grey 8×8 images of the digits 0-9 (no download); a stratified 75/25 split; Conv-ReLU-Pool ×2, then two
Linear layers with Dropout; Adam with a cosine learning-rate schedule; float32 on the CPU.

Run: python examples/digits_classifier.py [--epochs 20] [--max-steps N]
"""

from __future__ import annotations

import argparse
import time

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from tinygrad_n2n import nn, optim


def load_data(seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """-> x_train (N, 1, 8, 8) in [0, 1], y_train (N,), x_test, y_test."""
    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
    labels = torch.tensor(digits.target, dtype=torch.int64)
    train, test = train_test_split(range(len(labels)), test_size=0.25, random_state=seed, stratify=digits.target)
    return images[train], labels[train], images[test], labels[test]


def convnet() -> nn.Sequential:
    """(N, 1, 8, 8) -> logits (N, 10)."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 2 * 2, 64),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Linear(64, 10),
    )


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction classified correctly; eval mode records nothing on the tape."""
    model.eval()
    predictions = torch.argmax(model(x).data, dim=1)
    model.train()
    return (predictions == y).float().mean().item()


def main(epochs: int = 20, max_steps: int | None = None, batch_size: int = 64, seed: int = 0, verbose: bool = True):
    """Train, then return the test accuracy; `max_steps` stops early (for quick checks)."""
    torch.manual_seed(seed)
    x_train, y_train, x_test, y_test = load_data(seed)
    model = convnet()
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=3e-3)
    steps_per_epoch = -(-len(x_train) // batch_size)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * steps_per_epoch)
    if verbose:
        print(model, f"\n{model.num_parameters():,} parameters; {len(x_train)} training, {len(x_test)} test images")
    started, step = time.perf_counter(), 0
    for epoch in range(epochs):
        order = torch.randperm(len(x_train))
        total = 0.0
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            optimizer.zero_grad()
            loss = criterion(model(x_train[batch]), y_train[batch])
            loss.backward()
            optimizer.step()
            scheduler.step()
            total += loss.item() * len(batch)
            step += 1
            if max_steps is not None and step >= max_steps:
                break
        if verbose:
            test = accuracy(model, x_test, y_test)
            print(f"epoch {epoch + 1:2d}  loss {total / len(order):.4f}  test accuracy {test:.1%}")
        if max_steps is not None and step >= max_steps:
            break
    result = accuracy(model, x_test, y_test)
    if verbose:
        elapsed = time.perf_counter() - started
        print(f"test accuracy: {result:.2%} on {len(x_test)} images; {step} steps in {elapsed:.1f} s")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args()
    main(epochs=arguments.epochs, max_steps=arguments.max_steps, seed=arguments.seed)
