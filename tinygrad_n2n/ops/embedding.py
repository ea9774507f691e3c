"""`Embedding`: rows of a weight table picked by integer indices (torch.nn.functional.embedding)."""

from __future__ import annotations

import torch

from .function import Function


class Embedding(Function):
    """y = W[i]; dW[r] = Σ_{positions with i = r} dy (÷ the count of r if scale_grad_by_freq), 0 at padding_idx

    indices: any shape, int64 or int32; weight: (num_embeddings, D) -> (*indices.shape, D). padding_idx is a row
    in [0, num_embeddings) or -1 for none.
    """

    label_attributes = ("padding_idx", "scale_grad_by_freq")

    @staticmethod
    def forward(ctx, indices, weight, padding_idx, scale_grad_by_freq):
        ctx.padding_idx, ctx.scale_grad_by_freq, ctx.weight_shape = padding_idx, scale_grad_by_freq, weight.shape
        flat = indices.reshape(-1)
        try:
            rows = weight.index_select(0, flat)
        except IndexError as error:  # an index outside the table (found by the kernel: it needs the values)
            raise IndexError(
                f"embedding: {error}: indices of shape {tuple(indices.shape)} must lie in [0, {weight.shape[0]}), "
                f"the rows of the weight {tuple(weight.shape)}"
            ) from error
        ctx.save_for_backward(flat)
        return rows.view(*indices.shape, weight.shape[1])

    @staticmethod
    def backward(ctx, grad_out):
        (flat,) = ctx.saved_tensors
        grad_rows = grad_out.reshape(flat.shape[0], ctx.weight_shape[1])
        if ctx.scale_grad_by_freq:
            counts = torch.zeros(ctx.weight_shape[0], dtype=grad_out.dtype, device=grad_out.device)
            counts.index_add_(0, flat, torch.ones(flat.shape, dtype=grad_out.dtype, device=grad_out.device))
            grad_rows = grad_rows / counts[flat].unsqueeze(1)
        grad_weight = grad_out.new_zeros(ctx.weight_shape).index_add_(0, flat, grad_rows)
        if ctx.padding_idx >= 0:
            grad_weight[ctx.padding_idx] = 0
        return None, grad_weight
