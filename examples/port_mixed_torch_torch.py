"""A PyTorch script that calls torch's own functions on the model's tensors, ported by changing one import.

The model's forward uses torch.cat (a skip connection) and torch.sigmoid; evaluation runs under torch.no_grad();
the targets are NumPy float64 arrays while the model is float32. examples/port_mixed_torch.py runs on
tinygrad_n2n (torch.cat, torch.sigmoid, ... on engine tensors run the engine's ops, recorded on its tape);
examples/port_mixed_torch_torch.py is its torch.nn twin. The two differ only in the line that imports `nn` and
`optim` (tests/test_examples.py checks this and that both print the same losses).

Run: python examples/port_mixed_torch.py [--steps 40]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from torch import nn, optim


def make_data(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Points in the plane and a smooth float64 target in (0, 1). -> x: (n, 2), y: (n, 1), both float64."""
    x = rng.uniform(-2.0, 2.0, size=(n, 2))
    y = 1.0 / (1.0 + np.exp(-(np.sin(2.0 * x[:, :1]) + x[:, 1:] ** 2 - 1.0)))
    return x, y


class SkipNet(nn.Module):
    """x (N, 2) -> (N, 1) in (0, 1): an MLP body whose features are concatenated with the input (a skip)."""

    def __init__(self, hidden: int = 32) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(2, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.ReLU())
        self.head = nn.Linear(hidden + 2, 1)

    def forward(self, x):
        features = torch.cat([self.body(x), x], dim=1)
        return torch.sigmoid(self.head(features))


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Mean squared error against the float64 targets, in eval mode without recording a graph."""
    model.eval()
    with torch.no_grad():
        error = torch.mean((model(x) - y) ** 2).item()
    model.train()
    return error


def main(steps: int = 40, batch_size: int = 64, seed: int = 0, verbose: bool = True) -> dict:
    """Train; returns {"losses": training loss per step, "test_error": float}."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    x_train, y_train = make_data(512, rng)
    x_test, y_test = make_data(256, rng)
    inputs = torch.from_numpy(x_train).float()  # float32 inputs and model, float64 targets

    model = SkipNet()
    criterion = nn.MSELoss()
    optimizer = optim.Adam(model.parameters(), lr=1e-2)

    losses = []
    for step in range(steps):
        batch = rng.choice(len(x_train), size=batch_size, replace=False)
        optimizer.zero_grad()
        loss = criterion(model(inputs[batch]), torch.from_numpy(y_train[batch]))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if verbose and (step + 1) % 10 == 0:
            print(f"step {step + 1:3d}  loss {losses[-1]:.8f}")
    test_error = evaluate(model, torch.from_numpy(x_test).float(), torch.from_numpy(y_test))
    if verbose:
        print(f"test error: {test_error:.8f}")
    return {"losses": losses, "test_error": test_error}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args()
    main(steps=arguments.steps, seed=arguments.seed)
