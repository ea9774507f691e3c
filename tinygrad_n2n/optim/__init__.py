"""tinygrad_n2n.optim: optimizers (SGD, Adam, AdamW) and `lr_scheduler`, with torch.optim's names and formulas.

Updates happen in place on each parameter's `.data`, record nothing, and follow torch's update formulas op
for op, so a training run matches torch.optim's numbers.
"""

from . import lr_scheduler
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["SGD", "Adam", "AdamW", "Optimizer", "lr_scheduler"]
