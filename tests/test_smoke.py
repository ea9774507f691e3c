import torch

import tinygrad_n2n as tn
from tests.helpers import check_op
from tinygrad_n2n import functional as F


def test_conv_sigmoid_mse_matches_torch():
    x = torch.randn(2, 3, 9, 9, dtype=torch.float64)
    w = torch.randn(4, 3, 3, 3, dtype=torch.float64)
    t = torch.rand(2, 4, 5, 5, dtype=torch.float64)
    check_op(
        lambda a, b: F.mse_loss(F.sigmoid(F.conv2d(a, b, stride=2, padding=1)), tn.Tensor(t)),
        lambda a, b: torch.nn.functional.mse_loss(
            torch.sigmoid(torch.nn.functional.conv2d(a, b, stride=2, padding=1)), t
        ),
        [x, w],
    )
