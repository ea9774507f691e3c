"""Torch functions called on engine tensors (`_torch_routing`): PyTorch's numbers, or a clear error.

Every routed function is checked against the same call in torch.autograd in float64 (the same lambda runs on
both sides: on engine tensors it must come back as an engine Tensor with torch's values and gradients).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
import pytest
import torch
import torch.nn.functional as torch_F
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_n2n as tn
from tests.helpers import away_from_zero, check_op, positive, randn, seeds, shape_and_dims, shapes
from tinygrad_n2n import _torch_routing, nn, tape

R = randn(3, 4, seed=99)  # a raw torch tensor on the left of `R + x`, `R.add(x)`
COND = randn(3, 4, seed=98) > 0


class Case(NamedTuple):
    func: Any  # the ROUTES key the call must go through
    call: Any  # run on engine tensors, then on torch tensors
    inputs: list[torch.Tensor]
    atol: float = 1e-10  # looser only where torch's float64 backward rounds a constant to float32


def _ties(*shape: int) -> list[torch.Tensor]:
    """Two tensors equal at some positions (maximum/minimum split the gradient there)."""
    a, b = randn(*shape, seed=1), randn(*shape, seed=2)
    b.view(-1)[::3] = a.view(-1)[::3]
    return [a, b]


def _images(*shape: int) -> torch.Tensor:
    return randn(*shape, seed=3)


LABELS = torch.tensor([0, 2, 1, 2])

CASES = [
    # arithmetic, torch.* and the torch.Tensor forms a raw tensor on the left reaches
    Case(torch.add, lambda a, b: torch.add(a, b, alpha=2), [randn(3, 4), randn(4, seed=1)]),
    Case(torch.Tensor.add, lambda a: R + a, [randn(3, 4)]),
    Case(torch.Tensor.add, lambda a: R.add(a, alpha=-0.5), [randn(3, 4)]),
    Case(torch.Tensor.sub, lambda a: torch.Tensor.sub(R, a, alpha=2), [randn(3, 4)]),
    Case(torch.sub, lambda a, b: torch.sub(a, b, alpha=3), [randn(3, 4), randn(3, 1, seed=1)]),
    Case(torch.subtract, lambda a, b: torch.subtract(a, b), [randn(3, 4), randn(3, 4, seed=1)]),
    Case(torch.Tensor.sub, lambda a: R - a, [randn(3, 4)]),
    Case(torch.mul, lambda a, b: torch.mul(a, b), [randn(3, 4), randn(3, 4, seed=1)]),
    Case(torch.multiply, lambda a: torch.multiply(a, 2.5), [randn(3, 4)]),
    Case(torch.Tensor.mul, lambda a: R * a, [randn(3, 4)]),
    Case(torch.div, lambda a, b: torch.div(a, b), [randn(3, 4), away_from_zero(3, 4, seed=1)]),
    Case(torch.divide, lambda a, b: torch.divide(a, b), [randn(3, 4), away_from_zero(4, seed=1)]),
    Case(torch.true_divide, lambda a, b: torch.true_divide(a, b), [randn(3, 4), away_from_zero(3, 4, seed=1)]),
    Case(torch.Tensor.div, lambda a: R / a, [away_from_zero(3, 4)]),
    Case(torch.pow, lambda a, b: torch.pow(a, b), [positive(3, 4), randn(3, 4, seed=1)]),
    Case(torch.Tensor.pow, lambda a: positive(3, 4, seed=5).pow(a), [randn(3, 4)]),
    Case(torch.Tensor.__pow__, lambda a: positive(3, 4, seed=5) ** a, [randn(3, 4)]),
    Case(torch.matmul, lambda a, b: torch.matmul(a, b), [randn(2, 3, 4), randn(4, 5, seed=1)]),
    Case(torch.Tensor.matmul, lambda a: R @ a, [randn(4, 2)]),
    Case(torch.mm, lambda a, b: torch.mm(a, b), [randn(3, 4), randn(4, 5, seed=1)]),
    Case(torch.Tensor.mm, lambda a: R.mm(a), [randn(4, 5)]),
    Case(torch.bmm, lambda a, b: torch.bmm(a, b), [randn(2, 3, 4), randn(2, 4, 5, seed=1)]),
    Case(torch.Tensor.bmm, lambda a: R[None].bmm(a), [randn(1, 4, 5)]),
    Case(torch.dot, lambda a, b: torch.dot(a, b), [randn(4), randn(4, seed=1)]),
    Case(torch.Tensor.dot, lambda a: R[0].dot(a), [randn(4)]),
    Case(torch.outer, lambda a, b: torch.outer(a, b), [randn(3), randn(4, seed=1)]),
    Case(torch.Tensor.outer, lambda a: R[0].outer(a), [randn(2)]),
    Case(torch.einsum, lambda a, b: torch.einsum("ij,kj->ik", a, b), [randn(3, 4), randn(2, 4, seed=1)]),
    Case(torch.einsum, lambda a: torch.einsum("ii", [a]), [randn(3, 3)]),
    Case(torch.maximum, lambda a, b: torch.maximum(a, b), _ties(3, 4)),
    Case(torch.Tensor.maximum, lambda a: R.maximum(a), [randn(3, 4)]),
    Case(torch.minimum, lambda a, b: torch.minimum(a, b), _ties(3, 4)),
    Case(torch.Tensor.minimum, lambda a: R.minimum(a), [randn(3, 4)]),
    Case(torch.where, lambda a, b: torch.where(a > b, a, b), [randn(3, 4), randn(4, seed=1)]),
    Case(torch.where, lambda a: torch.where(COND, a, 0.0), [randn(3, 4)]),
    Case(torch.Tensor.where, lambda a: R.where(COND, a), [randn(3, 4)]),
    # unary
    Case(torch.neg, torch.neg, [randn(3, 4)]),
    Case(torch.negative, torch.negative, [randn(3, 4)]),
    Case(torch.exp, torch.exp, [randn(3, 4)]),
    Case(torch.log, torch.log, [positive(3, 4)]),
    Case(torch.sqrt, torch.sqrt, [positive(3, 4)]),
    Case(torch.abs, torch.abs, [away_from_zero(3, 4)]),
    Case(torch.tanh, torch.tanh, [randn(3, 4)]),
    Case(torch.sigmoid, torch.sigmoid, [randn(3, 4)]),
    Case(torch.relu, torch.relu, [away_from_zero(3, 4)]),
    Case(torch.square, torch.square, [randn(3, 4)]),
    Case(torch.clamp, lambda a: torch.clamp(a, -0.5, 0.7), [randn(3, 4)]),
    Case(torch.clamp, lambda a: torch.clamp(a, min=0.1), [randn(3, 4)]),
    Case(torch.clip, lambda a: torch.clip(a, max=0.2), [randn(3, 4)]),
    Case(torch.clamp, lambda a, b: torch.clamp(a, min=b), [randn(3, 4), randn(4, seed=1)]),
    Case(torch.Tensor.clamp, lambda a, b: R.clamp(a - 1, b + 1), [randn(3, 4), randn(4, seed=1)]),
    Case(torch.log1p, torch.log1p, [positive(3, 4)]),
    Case(torch.rsqrt, torch.rsqrt, [positive(3, 4)]),
    Case(torch.reciprocal, torch.reciprocal, [away_from_zero(3, 4)]),
    Case(torch.sin, torch.sin, [randn(3, 4)]),
    Case(torch.cos, torch.cos, [randn(3, 4)]),
    Case(torch.erf, torch.erf, [randn(3, 4)]),
    Case(torch.sign, lambda a: torch.sign(a) * a, [randn(3, 4)]),
    Case(torch.floor, lambda a: torch.floor(a) * a, [randn(3, 4)]),
    Case(torch.round, lambda a: torch.round(a, decimals=1) * a, [randn(3, 4)]),
    Case(torch.clamp_min, lambda a: torch.clamp_min(a, 0.1), [randn(3, 4)]),
    Case(torch.clamp_max, lambda a, b: torch.clamp_max(a, b), [randn(3, 4), randn(4, seed=1)]),
    Case(torch.nan_to_num, lambda a: torch.nan_to_num(a.log(), neginf=-5.0), [randn(3, 4)]),
    Case(torch.lerp, lambda a, b: torch.lerp(a, b, 0.25), [randn(3, 4), randn(3, 4, seed=1)]),
    Case(torch.Tensor.lerp, lambda a, w: R.lerp(a, w), [randn(3, 4), randn(4, seed=1)]),
    Case(torch.masked_fill, lambda a: torch.masked_fill(a, COND, -1.0), [randn(3, 4)]),
    Case(torch.Tensor.masked_fill, lambda v: R.masked_fill(COND, v), [randn()]),
    # reductions
    Case(torch.sum, torch.sum, [randn(3, 4)]),
    Case(torch.sum, lambda a: torch.sum(a, dim=1, keepdim=True), [randn(3, 4)]),
    Case(torch.sum, lambda a: torch.sum(a, (0, -1)), [randn(2, 3, 4)]),
    Case(torch.sum, lambda a: torch.sum(a, 1, dtype=torch.float64), [randn(3, 4)]),
    Case(torch.mean, torch.mean, [randn(3, 4)]),
    Case(torch.mean, lambda a: torch.mean(a, -1, True), [randn(3, 4)]),
    Case(torch.max, torch.max, [randn(3, 4)]),
    Case(torch.max, lambda a: torch.max(a, 1).values, [randn(3, 4)]),
    Case(torch.max, lambda a: torch.max(a, dim=0, keepdim=True)[0], [randn(3, 4)]),
    Case(torch.max, lambda a, b: torch.max(a, b), _ties(3, 4)),
    Case(torch.min, torch.min, [randn(3, 4)]),
    Case(torch.min, lambda a: torch.min(a, -1).values, [randn(3, 4)]),
    Case(torch.min, lambda a, b: torch.min(a, other=b), _ties(3, 4)),
    Case(torch.prod, lambda a: torch.prod(a, 1, keepdim=True), [randn(3, 4)]),
    Case(torch.prod, torch.prod, [randn(3, 4)]),
    Case(torch.amax, lambda a: torch.amax(a, (0, 1)), _ties(3, 4)[:1]),
    Case(torch.amin, lambda a: torch.amin(a, -1, True), _ties(3, 4)[:1]),
    Case(torch.var, lambda a: torch.var(a, 1, correction=0), [randn(3, 4)]),
    Case(torch.var, lambda a: torch.var(a, 0, False, True), [randn(3, 4)]),
    Case(torch.std, torch.std, [randn(3, 4)]),
    Case(torch.norm, torch.norm, [randn(3, 4)]),
    Case(torch.norm, lambda a: torch.norm(a, 1, dim=1, keepdim=True), [randn(3, 4)]),
    Case(torch.logsumexp, lambda a: torch.logsumexp(a, 1), [randn(3, 4)]),
    Case(torch.cumsum, lambda a: torch.cumsum(a, dim=0), [randn(3, 4)]),
    Case(torch.sort, lambda a: torch.sort(a, 1, descending=True).values, [randn(3, 4)]),
    Case(torch.topk, lambda a: torch.topk(a, 2, dim=0)[0], [randn(3, 4)]),
    # movement
    Case(torch.cat, lambda a, b: torch.cat([a, b], 1), [randn(2, 3), randn(2, 4, seed=1)]),
    Case(torch.cat, lambda a, b: torch.cat((a, b, a), dim=-1), [randn(2, 3), randn(2, 4, seed=1)]),
    Case(torch.cat, lambda a: torch.cat([R, a]), [randn(2, 4)]),
    Case(torch.concat, lambda a, b: torch.concat([a, b], 0), [randn(2, 3), randn(1, 3, seed=1)]),
    Case(torch.concatenate, lambda a, b: torch.concatenate([a, b], axis=1), [randn(2, 3), randn(2, 1, seed=1)]),
    Case(torch.stack, lambda a, b: torch.stack([a, b], 1), [randn(2, 3), randn(2, 3, seed=1)]),
    Case(torch.stack, lambda a, b: torch.stack((a, b), dim=-1), [randn(2, 3), randn(2, 3, seed=1)]),
    Case(torch.flatten, lambda a: torch.flatten(a, 1), [randn(2, 3, 4)]),
    Case(torch.flatten, torch.flatten, [randn(2, 3, 4)]),
    Case(torch.reshape, lambda a: torch.reshape(a, (4, -1)), [randn(2, 3, 4)]),
    Case(torch.transpose, lambda a: torch.transpose(a, 0, -1), [randn(2, 3, 4)]),
    Case(torch.swapaxes, lambda a: torch.swapaxes(a, 0, 1), [randn(2, 3, 4)]),
    Case(torch.swapdims, lambda a: torch.swapdims(a, 1, 2), [randn(2, 3, 4)]),
    Case(torch.permute, lambda a: torch.permute(a, (2, 0, 1)), [randn(2, 3, 4)]),
    Case(torch.squeeze, torch.squeeze, [randn(2, 1, 3, 1)]),
    Case(torch.squeeze, lambda a: torch.squeeze(a, 1), [randn(2, 1, 3, 1)]),
    Case(torch.unsqueeze, lambda a: torch.unsqueeze(a, -1), [randn(2, 3)]),
    Case(torch.t, torch.t, [randn(2, 3)]),
    Case(torch.unflatten, lambda a: torch.unflatten(a, 1, (2, 2)), [randn(3, 4)]),
    Case(torch.split, lambda a: torch.split(a, [1, 3], dim=1)[1], [randn(3, 4)]),
    Case(torch.chunk, lambda a: torch.chunk(a, 2)[1], [randn(3, 4)]),
    Case(torch.unbind, lambda a: torch.unbind(a, 1)[2], [randn(3, 4)]),
    Case(torch.flip, lambda a: torch.flip(a, (0, 1)), [randn(3, 4)]),
    Case(torch.roll, lambda a: torch.roll(a, 1, 1), [randn(3, 4)]),
    Case(torch.tril, lambda a: torch.tril(a, -1), [randn(3, 4)]),
    Case(torch.triu, lambda a: torch.triu(a), [randn(3, 4)]),
    Case(torch.meshgrid, lambda a, b: torch.meshgrid(a, b, indexing="xy")[1] * 2, [randn(3), randn(4, seed=1)]),
    # indexing
    Case(torch.gather, lambda a: torch.gather(a, 1, torch.tensor([[0, 0], [3, 1], [2, 2]])), [randn(3, 4)]),
    Case(torch.index_select, lambda a: torch.index_select(a, 0, torch.tensor([2, 2, 0])), [randn(3, 4)]),
    Case(torch.scatter, lambda a, s: torch.scatter(a, 1, torch.tensor([[3], [0], [1]]), s), [randn(3, 4), randn(3, 1)]),
    Case(torch.scatter, lambda a: torch.scatter(a, 0, torch.tensor([[1, 0, 2, 1]]), value=2.0), [randn(3, 4)]),
    Case(torch.Tensor.scatter, lambda s: R.scatter(0, torch.tensor([[1, 0, 2, 1]]), s), [randn(1, 4)]),
    # torch.nn.functional
    Case(
        torch_F.conv2d,
        lambda x, w, b: torch_F.conv2d(x, w, b, stride=2, padding=1),
        [_images(2, 3, 7, 7), randn(4, 3, 3, 3, seed=1), randn(4, seed=2)],
    ),
    Case(torch_F.conv2d, lambda x, w: torch_F.conv2d(x, w, padding="same"), [_images(1, 2, 5, 6), randn(3, 2, 3, 3)]),
    Case(torch_F.conv2d, lambda x, w: torch_F.conv2d(x, w, None, 1, "valid"), [_images(1, 2, 5, 6), randn(3, 2, 3, 3)]),
    Case(
        torch_F.conv_transpose2d,
        lambda x, w, b: torch_F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
        [_images(2, 3, 4, 4), randn(3, 5, 3, 3, seed=1), randn(5, seed=2)],
    ),
    Case(torch_F.linear, torch_F.linear, [randn(5, 3), randn(4, 3, seed=1), randn(4, seed=2)]),
    Case(torch_F.linear, lambda x, w: torch_F.linear(x, w), [randn(2, 5, 3), randn(4, 3, seed=1)]),
    Case(torch_F.relu, torch_F.relu, [away_from_zero(3, 4)]),
    Case(torch_F.leaky_relu, lambda a: torch_F.leaky_relu(a, 0.2), [away_from_zero(3, 4)]),
    Case(torch_F.softmax, lambda a: torch_F.softmax(a, dim=1), [randn(3, 4)]),
    Case(torch.softmax, lambda a: torch.softmax(a, 0), [randn(3, 4)]),
    Case(torch_F.log_softmax, lambda a: torch_F.log_softmax(a, -1), [randn(3, 4)]),
    Case(torch.log_softmax, lambda a: torch.log_softmax(a, 1), [randn(3, 4)]),
    Case(torch_F.max_pool2d, lambda x: torch_F.max_pool2d(x, 2), [_images(2, 3, 6, 6)]),
    Case(torch_F.max_pool2d, lambda x: torch_F.max_pool2d(x, 3, stride=1, padding=1), [_images(1, 2, 5, 5)]),
    Case(torch_F.max_pool2d, lambda x: torch_F.max_pool2d(x, 3, 2, 1, 1, True), [_images(1, 2, 6, 7)]),
    Case(torch.max_pool2d, lambda x: torch.max_pool2d(x, (2, 3)), [_images(1, 2, 6, 6)]),
    Case(
        torch_F.max_pool2d_with_indices,
        lambda x: torch_F.max_pool2d(x, 2, return_indices=True)[0],
        [_images(1, 2, 5, 6)],
    ),
    Case(torch_F.max_pool1d, lambda x: torch_F.max_pool1d(x, 3, 2, ceil_mode=True), [randn(2, 3, 8)]),
    Case(
        torch_F.max_pool1d_with_indices,
        lambda x: torch_F.max_pool1d(x, 2, return_indices=True)[0],
        [randn(2, 3, 8)],
    ),
    Case(torch_F.adaptive_max_pool1d, lambda x: torch_F.adaptive_max_pool1d(x, 3), [randn(2, 3, 8)]),
    Case(
        torch_F.adaptive_max_pool1d_with_indices,
        lambda x: torch_F.adaptive_max_pool1d(x, 3, True)[0],
        [randn(2, 3, 8)],
    ),
    Case(torch_F.adaptive_max_pool2d, lambda x: torch_F.adaptive_max_pool2d(x, (2, 3)), [_images(1, 2, 5, 7)]),
    Case(
        torch_F.adaptive_max_pool2d_with_indices,
        lambda x: torch_F.adaptive_max_pool2d(x, 2, return_indices=True)[0],
        [_images(1, 2, 5, 7)],
    ),
    Case(torch_F.avg_pool2d, lambda x: torch_F.avg_pool2d(x, 2), [_images(2, 3, 6, 6)]),
    Case(
        torch_F.avg_pool2d,
        lambda x: torch_F.avg_pool2d(x, 3, 1, 1, count_include_pad=False),
        [_images(1, 2, 5, 5)],
    ),
    Case(torch_F.avg_pool2d, lambda x: torch_F.avg_pool2d(x, 3, 2, 1, True, False), [_images(1, 2, 6, 7)]),
    Case(torch_F.avg_pool2d, lambda x: torch_F.avg_pool2d(x, 2, divisor_override=3), [_images(1, 2, 4, 4)]),
    Case(torch_F.avg_pool1d, lambda x: torch_F.avg_pool1d(x, 3, 2, 1, True), [randn(2, 3, 8)]),
    Case(torch_F.adaptive_avg_pool1d, lambda x: torch_F.adaptive_avg_pool1d(x, 3), [randn(2, 3, 8)]),
    Case(torch_F.adaptive_avg_pool2d, lambda x: torch_F.adaptive_avg_pool2d(x, (2, 3)), [_images(1, 2, 5, 7)]),
    Case(torch_F.pad, lambda x: torch_F.pad(x, (1, 2, 0, 1)), [_images(1, 2, 3, 3)]),
    Case(torch_F.pad, lambda x: torch_F.pad(x, [1, 1], value=2.0), [randn(2, 3)]),
    Case(torch_F.pad, lambda x: torch_F.pad(x, (2, 1, 1, 2), mode="reflect"), [_images(1, 2, 4, 4)]),
    Case(torch_F.interpolate, lambda x: torch_F.interpolate(x, scale_factor=2), [_images(1, 2, 3, 4)]),
    Case(torch_F.interpolate, lambda x: torch_F.interpolate(x, scale_factor=(2, 3.0)), [_images(1, 2, 3, 4)]),
    Case(torch_F.interpolate, lambda x: torch_F.interpolate(x, size=(6, 12), mode="nearest"), [_images(1, 2, 3, 4)]),
    Case(
        torch_F.interpolate,
        lambda x: torch_F.interpolate(x, scale_factor=1.5, mode="bilinear", align_corners=False),
        [_images(1, 2, 3, 4)],
    ),
    Case(torch_F.interpolate, lambda x: torch_F.upsample_nearest(x, (5, 8)), [_images(1, 2, 3, 4)]),  # calls it
    Case(torch_F.mse_loss, torch_F.mse_loss, [randn(3, 4), randn(3, 4, seed=1)]),
    Case(torch_F.mse_loss, lambda a, b: torch_F.mse_loss(a, b, reduction="sum"), [randn(3, 4), randn(3, 4, seed=1)]),
    Case(torch_F.l1_loss, torch_F.l1_loss, [randn(3, 4), randn(3, 4, seed=1)]),
    Case(torch_F.l1_loss, lambda a, b: torch_F.l1_loss(a, b, reduction="none"), [randn(3, 4), randn(3, 4, seed=1)]),
    Case(torch_F.cross_entropy, torch_F.cross_entropy, [randn(4, 3), LABELS]),
    Case(
        torch_F.cross_entropy,
        lambda a, t: torch_F.cross_entropy(a, t, ignore_index=2, reduction="sum"),
        [randn(4, 3), LABELS],
    ),
    Case(
        torch_F.cross_entropy,
        lambda a, t: torch_F.cross_entropy(a, t, torch.tensor([1.0, 2.0, 0.5], dtype=a.dtype), label_smoothing=0.1),
        [randn(4, 3), LABELS],
    ),
    Case(
        torch_F.cross_entropy, lambda a, p: torch_F.cross_entropy(a, p.softmax(1)), [randn(4, 3), randn(4, 3, seed=1)]
    ),
    Case(torch_F.nll_loss, lambda a, t: torch_F.nll_loss(a.log_softmax(1), t), [randn(4, 3), LABELS]),
    Case(
        torch_F.binary_cross_entropy,
        lambda a, t: torch_F.binary_cross_entropy(a.sigmoid(), t.sigmoid()),
        [randn(3, 4), randn(3, 4, seed=1)],
    ),
    Case(
        torch_F.binary_cross_entropy_with_logits,
        lambda a, t: torch_F.binary_cross_entropy_with_logits(
            a, t.sigmoid(), pos_weight=torch.tensor([0.5, 1, 2, 3.0], dtype=a.dtype)
        ),
        [randn(3, 4), randn(3, 4, seed=1)],
    ),
    Case(
        torch_F.kl_div,
        lambda a, t: torch_F.kl_div(a.log_softmax(1), t.softmax(1), reduction="batchmean"),
        [randn(3, 4), randn(3, 4, seed=1)],
    ),
    Case(torch_F.huber_loss, lambda a, b: torch_F.huber_loss(a, b, delta=0.5), [randn(3, 4), randn(3, 4, seed=1)]),
    Case(
        torch_F.smooth_l1_loss, lambda a, b: torch_F.smooth_l1_loss(a, b, beta=0.5), [randn(3, 4), randn(3, 4, seed=1)]
    ),
    # activations, normalisations and the rest of the spatial ops
    Case(torch_F.gelu, lambda a: torch_F.gelu(a, approximate="tanh"), [randn(3, 4)]),
    Case(torch_F.silu, torch_F.silu, [randn(3, 4)]),
    Case(torch_F.mish, torch_F.mish, [randn(3, 4)]),
    Case(torch_F.elu, lambda a: torch_F.elu(a, 0.7), [away_from_zero(3, 4)]),
    Case(torch_F.celu, lambda a: torch_F.celu(a, 1.3), [away_from_zero(3, 4)], atol=1e-7),  # 1 / alpha in float32
    Case(torch_F.selu, torch_F.selu, [away_from_zero(3, 4)]),
    Case(torch_F.softplus, lambda a: torch_F.softplus(a, 2.0, 1.0), [away_from_zero(3, 4)]),
    Case(torch_F.logsigmoid, torch_F.logsigmoid, [randn(3, 4)]),
    Case(torch_F.hardtanh, lambda a: torch_F.hardtanh(a, -0.7, 0.8), [away_from_zero(3, 4) * 0.5]),
    Case(torch_F.relu6, torch_F.relu6, [away_from_zero(3, 4) * 3]),
    Case(torch_F.hardsigmoid, torch_F.hardsigmoid, [away_from_zero(3, 4) * 2], atol=1e-7),  # 1 / 6 in float32
    Case(torch_F.hardswish, torch_F.hardswish, [away_from_zero(3, 4) * 2]),
    Case(
        torch_F.layer_norm,
        lambda a, w, b: torch_F.layer_norm(a, (4,), w, b),
        [randn(3, 4), randn(4, seed=1), randn(4, seed=2)],
    ),
    Case(torch_F.group_norm, lambda a, w: torch_F.group_norm(a, 2, w), [_images(2, 4, 3, 3), randn(4, seed=1)]),
    Case(torch_F.instance_norm, torch_F.instance_norm, [_images(2, 3, 4, 4)]),
    Case(
        torch_F.batch_norm,
        lambda a, w: torch_F.batch_norm(a, None, None, w, training=True),
        [_images(3, 2, 3, 3), randn(2, seed=1)],
    ),
    Case(torch_F.normalize, lambda a: torch_F.normalize(a, p=3.0, dim=0), [randn(3, 4)]),
    Case(
        torch_F.cosine_similarity,
        lambda a, b: torch_F.cosine_similarity(a, b, dim=1),
        [randn(3, 4), randn(3, 4, seed=1)],
    ),
    Case(torch_F.conv1d, lambda x, w: torch_F.conv1d(x, w, padding="same"), [randn(2, 3, 7), randn(4, 3, 3, seed=1)]),
    Case(
        torch_F.conv_transpose1d,
        lambda x, w: torch_F.conv_transpose1d(x, w, stride=2, padding=1),
        [randn(2, 3, 5), randn(3, 4, 3, seed=1)],
    ),
    Case(torch_F.unfold, lambda x: torch_F.unfold(x, 2, stride=2), [_images(1, 2, 4, 6)]),
    Case(torch_F.fold, lambda c: torch_F.fold(c, (4, 6), 2, stride=2), [randn(1, 8, 6)]),
    Case(torch_F.pixel_shuffle, lambda x: torch_F.pixel_shuffle(x, 2), [_images(1, 8, 2, 3)]),
    Case(torch_F.pixel_unshuffle, lambda x: torch_F.pixel_unshuffle(x, 2), [_images(1, 2, 4, 6)]),
    Case(torch_F.embedding, lambda w: torch_F.embedding(torch.tensor([[0, 2], [3, 1]]), w), [randn(4, 3)]),
    Case(torch_F.dropout, lambda a: torch_F.dropout(a, 0.3, training=False), [randn(3, 4)]),
    Case(torch_F.dropout1d, lambda a: torch_F.dropout1d(a, 0.3, training=False), [randn(2, 3, 4)]),
    Case(torch_F.dropout2d, lambda a: torch_F.dropout2d(a, 0.3, training=False), [_images(2, 3, 4, 4)]),
    Case(torch_F.dropout3d, lambda a: torch_F.dropout3d(a, 0.3, training=False), [randn(2, 3, 2, 2, 2)]),
]


def _case_id(case: Case) -> str:
    return torch.overrides.resolve_name(case.func)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_routed_function_matches_torch(case, monkeypatch):
    """Forward values and input gradients equal torch.autograd's, through the route the table names."""
    calls = []
    route = _torch_routing.ROUTES[case.func]
    monkeypatch.setitem(_torch_routing.ROUTES, case.func, lambda *a, **k: calls.append(1) or route(*a, **k))
    check_op(case.call, case.call, case.inputs, atol=case.atol)
    assert calls, f"{_case_id(case)} was not reached through its route"


def test_every_routed_function_has_a_case():
    assert set(_torch_routing.ROUTES) == {case.func for case in CASES}


def test_max_and_min_over_a_dim_return_values_and_indices_as_torch():
    x = randn(3, 4)
    for func in (torch.max, torch.min):
        values, indices = func(tn.Tensor(x, requires_grad=True), dim=1)
        expected = func(x, dim=1)
        assert isinstance(values, tn.Tensor) and values.requires_grad and not indices.requires_grad
        assert torch.equal(values.data, expected.values) and torch.equal(indices.data, expected.indices)


# ---------------------------------------------------------------- hypothesis: shapes and dims


@given(shape=shapes(min_dims=1, max_dims=3), count=st.integers(1, 3), data=st.data())
def test_cat_and_stack_along_any_dim_match_torch(shape, count, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    inputs = [randn(*shape, seed=i) for i in range(count)]
    check_op(lambda *xs: torch.cat(xs, dim), None, inputs)
    check_op(lambda *xs: torch.stack(xs, dim=dim), None, inputs)


@given(shape_dims=shape_and_dims(), keepdim=st.booleans())
def test_sum_and_mean_over_any_dims_match_torch(shape_dims, keepdim):
    shape, dim = shape_dims
    if dim is None:
        check_op(torch.sum, None, [randn(*shape)])
        check_op(torch.mean, None, [randn(*shape)])
    else:
        check_op(lambda x: torch.sum(x, dim, keepdim=keepdim), None, [randn(*shape)])
        check_op(lambda x: torch.mean(x, dim=dim, keepdim=keepdim), None, [randn(*shape)])


@given(shape=shapes(min_dims=1, max_dims=3), seed=seeds)
def test_where_maximum_minimum_match_torch(shape, seed):
    a, b = randn(*shape, seed=seed), randn(*shape, seed=seed + 1)
    b.view(-1)[::2] = a.view(-1)[::2]  # ties
    check_op(lambda x, y: torch.where(x > 0, x, y), None, [a, b])
    check_op(torch.maximum, None, [a, b])
    check_op(torch.minimum, None, [a, b])


# ---------------------------------------------------------------- the Where primitive


def test_where_ignores_inf_and_nan_in_the_branch_not_taken():
    """`x·mask + y·(1 - mask)` would give nan here, in the values and in the gradients."""
    x = torch.tensor([1.0, math.inf, -2.0, math.nan, 3.0], dtype=torch.float64)
    y = torch.tensor([math.nan, 4.0, -math.inf, 5.0, 6.0], dtype=torch.float64)
    condition = torch.tensor([True, False, True, False, True])
    check_op(lambda a, b: torch.where(condition, a, b), None, [x, y])
    check_op(lambda a, b: torch.where(tn.Tensor(condition), a, b), lambda a, b: torch.where(condition, a, b), [x, y])


def test_where_broadcasts_condition_and_branches():
    condition = randn(3, 1, seed=5) > 0
    check_op(lambda a, b: torch.where(condition, a, b), None, [randn(1, 4), randn(3, 4, seed=1)])
    check_op(lambda a: torch.where(condition, 1.0, a), None, [randn(4)])


# ---------------------------------------------------------------- the regression: a skip connection


def _two_layers(engine: bool):
    torch.manual_seed(0)
    layers = nn if engine else torch.nn
    body, head = layers.Conv2d(3, 4, 3, padding=1), layers.Conv2d(8, 2, 3, padding=1)
    return body.to(torch.float64), head.to(torch.float64)


def test_skip_connection_through_torch_cat_reaches_the_earlier_layers():
    """`head(torch.cat([h, h], 1))` once made the body's gradient None: the cat cut the graph."""
    x = _images(2, 3, 5, 5)
    grads = []
    for engine in (True, False):
        body, head = _two_layers(engine)
        h = torch.relu(body(x))
        out = head(torch.cat([h, h], 1))
        torch.sigmoid(out).sum().backward()
        grads.append([p.grad for p in (body.weight, body.bias, head.weight)])
    for ours, theirs in zip(*grads):
        assert ours is not None
        torch.testing.assert_close(ours, theirs, atol=1e-10, rtol=0)


def test_accumulating_into_a_raw_tensor_with_plus_equals_keeps_the_gradient():
    """`acc = torch.zeros(..); acc += h` rebinds acc to the engine sum (torch: acc joins the graph)."""
    x = tn.Tensor(randn(3), requires_grad=True)
    acc = torch.zeros(3, dtype=torch.float64)
    acc += x * 2
    assert isinstance(acc, tn.Tensor) and acc.requires_grad
    acc.sum().backward()
    assert x.gradient.tolist() == [2.0, 2.0, 2.0]


# ---------------------------------------------------------------- errors where a gradient would be lost


def _leaf(*shape: int) -> tn.Tensor:
    return tn.Tensor(randn(*shape), requires_grad=True)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda x: torch.sinh(x), r"^torch\.sinh on an engine Tensor that requires a gradient: the engine has no op"),
        (lambda x: torch.cummax(x, 0), r"^torch\.cummax .*silently lost"),
        (lambda x: torch.tensor_split(x, 2), r"^torch\.tensor_split "),
        (lambda x: torch_F.glu(x), r"^torch\.nn\.functional\.glu .*the engine has no op for it"),
        (lambda x: torch_F.dropout(x, 0.5, inplace=True), r"dropout .*inplace=True .*x = F\.dropout\(x, p\)"),
        (
            lambda x: torch.scatter(x, 0, torch.zeros(1, 1, 1, dtype=torch.int64), x, reduce="add"),
            r"scatter .*reduce='add'",
        ),
        (lambda x: torch.div(x, 2, rounding_mode="floor"), r"div .*rounding_mode='floor'"),
        (lambda x: torch_F.relu(x, inplace=True), r"relu .*inplace=True .*x = F\.relu\(x\)"),
        (lambda x: torch.add(x, 1, out=torch.empty(3, 4, 4, dtype=torch.float64)), r"add .*out= writes"),
        (lambda x: torch.zeros(4).add_(x[0, 0]), r"add_ .*in place.*out of place"),
        (lambda x: torch.zeros(3, 4, 4, dtype=torch.float64).__setitem__(0, x[0]), r"__setitem__ .*torch\.cat"),
    ],
)
def test_unsupported_functions_raise_a_typeerror_naming_them_when_a_gradient_is_needed(call, message):
    with pytest.raises(TypeError, match=message):
        call(_leaf(3, 4, 4))


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda x: torch_F.interpolate(x, scale_factor=2, mode="bicubic"), NotImplementedError, "mode='bicubic'"),
        (lambda x: torch_F.pad(x, (1, 1), mode="wrap"), NotImplementedError, "padding mode wrap"),
        (lambda x: torch_F.avg_pool2d(x, 2, divisor_override=0), RuntimeError, "divisor must be not zero"),
    ],
)
def test_routed_functions_refuse_what_the_engine_does_not_cover_as_torch_would(call, error, message):
    """Arguments torch itself refuses, or that the engine's torch-signature function does not cover, raise there."""
    with pytest.raises(error, match=message):
        call(_leaf(1, 2, 3, 4))


@pytest.mark.parametrize(
    ("name", "shape"),
    [("dropout", (3, 4)), ("dropout1d", (2, 3, 4)), ("dropout2d", (2, 3, 4, 5)), ("dropout3d", (2, 3, 2, 2, 2))],
)
def test_dropout_draws_torchs_mask_under_the_same_seed(name, shape):
    x = randn(*shape)
    torch.manual_seed(7)
    expected = getattr(torch_F, name)(x, 0.4)
    torch.manual_seed(7)
    leaf = tn.Tensor(x.clone(), requires_grad=True)
    out = getattr(torch_F, name)(leaf, 0.4)
    out.sum().backward()
    torch.testing.assert_close(out.data, expected, rtol=0, atol=0)
    torch.testing.assert_close(leaf.gradient, (expected != 0).double() / 0.6, rtol=0, atol=1e-15)


def test_max_pool2d_indices_are_torchs():
    x = randn(2, 3, 5, 7)
    values, indices = torch_F.max_pool2d(tn.Tensor(x, requires_grad=True), 3, 2, 1, ceil_mode=True, return_indices=True)
    expected_values, expected_indices = torch_F.max_pool2d(x, 3, 2, 1, ceil_mode=True, return_indices=True)
    assert isinstance(indices, tn.Tensor) and torch.equal(indices.data, expected_indices)
    assert torch.equal(values.data, expected_values) and values.requires_grad


def test_torch_autograd_tensors_are_refused():
    weight = torch.nn.Parameter(torch.ones(4, 4, dtype=torch.float64))
    for call in (lambda x: torch_F.linear(x, weight), lambda x: weight * x, lambda x: torch.cat([x, weight[0]])):
        with pytest.raises(TypeError, match=r"requires (a gradient from torch\.autograd|grad)"):
            call(tn.Tensor(randn(4)))


def test_nothing_is_recorded_or_changed_by_a_refused_call():
    x = _leaf(3)
    raw = torch.zeros(3, dtype=torch.float64)
    before = tape.tape_length()
    with pytest.raises(TypeError):
        raw.add_(x)
    with pytest.raises(TypeError):
        raw[:] = x
    assert raw.tolist() == [0.0, 0.0, 0.0] and tape.tape_length() == before


# ---------------------------------------------------------------- no gradient involved: torch's own result


def test_unrouted_functions_without_a_gradient_return_engine_tensors():
    x = tn.Tensor(randn(3, 4))
    out = torch.sinh(x)
    assert type(out) is tn.Tensor and not out.requires_grad
    assert torch.equal(out.data, torch.sinh(x.data))
    values, indices = torch.cummax(x, dim=1)  # a torch.return_types structseq keeps its type and fields
    running = torch.cummax(x, dim=1)
    assert type(running) is torch.return_types.cummax and type(running.values) is tn.Tensor
    assert torch.equal(values.data, torch.cummax(x.data, dim=1).values) and indices.dtype == torch.int64
    pieces = torch.tensor_split(x, 2, dim=1)
    assert type(pieces) is tuple and [type(p) for p in pieces] == [tn.Tensor, tn.Tensor]
    upsampled = torch_F.interpolate(x[None, None], scale_factor=1.5, mode="bilinear")
    torch.testing.assert_close(
        upsampled.data, torch_F.interpolate(x.data[None, None], scale_factor=1.5, mode="bilinear")
    )


@pytest.mark.parametrize("switch", [tn.no_grad, torch.no_grad, torch.inference_mode])
def test_unrouted_functions_on_tensors_needing_a_gradient_run_when_recording_is_off(switch):
    x = _leaf(3, 4)
    with switch():
        out = torch.sinh(x)
    assert type(out) is tn.Tensor and not out.requires_grad


def test_results_without_a_gradient_come_back_even_when_inputs_need_one():
    x = _leaf(3, 4)
    assert torch.argmax(x, 1).dtype == torch.int64 and type(torch.argmax(x)) is tn.Tensor
    assert torch.isnan(x).dtype == torch.bool
    assert torch.allclose(x, x.data.clone()) is True and torch.equal(x, x) is True
    assert torch.numel(x) == 12 and torch.is_tensor(x) is False
    assert torch.Tensor.__len__(x) == 3 and "tensor(" in torch.Tensor.__repr__(x)
    zeros = torch.zeros_like(x)
    assert type(zeros) is tn.Tensor and not zeros.requires_grad and zeros.shape == (3, 4)
    shaped = torch.arange(4.0).expand_as(x), torch.arange(12).view(3, 4).type_as(x), torch.ones(12).view_as(x)
    assert all(type(t) is tn.Tensor and t.shape[-1] == 4 and not t.requires_grad for t in shaped)
    assert shaped[1].dtype == torch.float64


def test_comparisons_with_a_raw_tensor_on_the_left_give_engine_booleans():
    x = tn.Tensor(randn(3))
    assert (R[0, :3] < x).dtype == torch.bool and type(R[0, :3] == x) is tn.Tensor


def test_writes_without_a_gradient_change_the_raw_tensor_and_return_it():
    x = tn.Tensor(torch.ones(3, dtype=torch.float64))
    raw = torch.zeros(3, dtype=torch.float64)
    assert raw.add_(x) is raw and raw.tolist() == [1.0, 1.0, 1.0]
    alias = raw
    raw += x
    assert raw is alias and raw.tolist() == [2.0, 2.0, 2.0]  # torch's in-place add, as without engine tensors
    raw[:2] = x[:2] * 2
    assert raw.tolist() == [2.0, 2.0, 2.0] and type(raw) is torch.Tensor


def test_torch_nn_init_fills_engine_parameters_in_place_as_torch_does():
    weight = nn.Parameter(torch.empty(4, 3, dtype=torch.float64))
    assert torch.nn.init.normal_(weight, std=0.5) is weight and weight.requires_grad
    assert torch.nn.init.kaiming_uniform_(weight, a=math.sqrt(5)) is weight
    assert weight.is_leaf and float(weight.data.abs().max()) <= 1 / math.sqrt(3)  # kaiming(a=√5): U(±1/√fan_in)


def test_numpy_float64_targets_mix_with_torch_functions():
    logits = _leaf(4, 3)
    target = np.linspace(0.0, 1.0, 12).reshape(4, 3)
    loss = torch_F.mse_loss(torch.sigmoid(logits), tn.Tensor(target))
    loss.backward()
    reference = logits.data.clone().requires_grad_(True)
    expected = torch_F.mse_loss(torch.sigmoid(reference), torch.from_numpy(target))
    expected.backward()
    torch.testing.assert_close(loss.data, expected.detach(), atol=1e-12, rtol=0)
    torch.testing.assert_close(logits.gradient, reference.grad, atol=1e-12, rtol=0)


def test_softmax_without_dim_warns_and_picks_torchs_implicit_dim():
    for shape in [(4,), (3, 4), (2, 3, 4), (2, 2, 3, 4)]:
        x = randn(*shape)
        with pytest.warns(UserWarning, match="Implicit dimension"):
            ours = torch_F.softmax(tn.Tensor(x), None)
        with pytest.warns(UserWarning, match="Implicit dimension"):
            theirs = torch_F.softmax(x, None)
        torch.testing.assert_close(ours.data, theirs, atol=1e-12, rtol=0)
