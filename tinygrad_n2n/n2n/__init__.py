"""Noise2Noise denoising with the engine: data, models, the course `Model` API, training and the CLI.

The course's building blocks are re-exported here so that `from tinygrad_n2n.n2n import Conv2d, Model`
works as in the course.
"""

from ..nn import Conv2d, LeakyReLU, MSELoss, ReLU, Sequential, Sigmoid, Upsampling
from ..optim import SGD, Adam
from .model import Model

__all__ = ["SGD", "Adam", "Conv2d", "LeakyReLU", "MSELoss", "Model", "ReLU", "Sequential", "Sigmoid", "Upsampling"]
