"""tinygrad_n2n.optim: optimizers and `lr_scheduler`, with torch.optim's names, signatures and formulas.

Updates happen in place on each parameter's `.data`, record nothing, and follow torch's update formulas op
for op, so a training run matches torch.optim's numbers.
"""

from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = [
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "NAdam",
    "Optimizer",
    "RAdam",
    "RMSprop",
    "lr_scheduler",
]
