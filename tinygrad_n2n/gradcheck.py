"""`gradcheck`: compare the engine's gradients with central finite differences, in float64.

Independent of torch.autograd: the numerical Jacobian comes from perturbing each input element by ±eps,
the analytical one from one engine backward per output element.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from .tensor import Tensor


class GradcheckError(AssertionError):
    """Raised when the engine's gradient and the finite-difference gradient disagree."""


def _as_outputs(result) -> list[Tensor]:
    return list(result) if isinstance(result, (tuple, list)) else [result]


def gradcheck(
    fn: Callable[..., Tensor], inputs: Sequence, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3
) -> bool:
    """Check d fn(*inputs) / d input for every input tensor that requires a gradient.

    inputs: engine tensors (floating ones become contiguous float64 copies, so the caller's data is never
    perturbed; integer ones, e.g. class indices, pass unchanged) or other arguments passed through unchanged.
    Returns True, or raises GradcheckError naming the input, the output and the worst element.
    """
    inputs = [_float64_copy(x) if isinstance(x, Tensor) and x.data.is_floating_point() else x for x in inputs]
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires a gradient")
    outputs = _as_outputs(fn(*inputs))
    for out_index, output in enumerate(outputs):
        if not output.requires_grad:
            continue
        analytic = _analytic_jacobian(fn, inputs, checked, out_index, output.numel())
        for position, i in enumerate(checked):
            numeric = _numeric_jacobian(fn, inputs, i, out_index, eps)
            error = (analytic[position] - numeric).abs() - (atol + rtol * numeric.abs())
            if (error > 0).any():
                worst = int(error.argmax())
                row, col = divmod(worst, numeric.shape[1])
                raise GradcheckError(
                    f"gradcheck: d output[{out_index}] / d input[{i}] differs at output element {row}, input "
                    f"element {col}: backward gives {analytic[position][row, col].item():.6g}, finite "
                    f"differences give {numeric[row, col].item():.6g} (atol={atol}, rtol={rtol})"
                )
    return True


def _float64_copy(x: Tensor) -> Tensor:
    data = x.data.to(torch.float64).clone(memory_format=torch.contiguous_format)
    return Tensor(data, requires_grad=x.requires_grad)


def _analytic_jacobian(fn, inputs, checked, out_index, out_numel) -> list[torch.Tensor]:
    jacobians = [torch.zeros(out_numel, inputs[i].numel(), dtype=torch.float64) for i in checked]
    for row in range(out_numel):
        for i in checked:
            inputs[i].gradient = None
        output = _as_outputs(fn(*inputs))[out_index]
        seed = torch.zeros(out_numel, dtype=output.dtype, device=output.device)
        seed[row] = 1
        output.backward(seed.reshape(output.shape))
        for jacobian, i in zip(jacobians, checked):
            if inputs[i].gradient is not None:
                jacobian[row] = inputs[i].gradient.reshape(-1).double().cpu()
    return jacobians


def _numeric_jacobian(fn, inputs, i, out_index, eps) -> torch.Tensor:
    from . import tape

    flat = inputs[i].data.view(-1)
    columns = []
    with tape.no_grad():
        for k in range(flat.numel()):
            original = flat[k].item()
            flat[k] = original + eps
            plus = _as_outputs(fn(*inputs))[out_index].data.reshape(-1).double().cpu()
            flat[k] = original - eps
            minus = _as_outputs(fn(*inputs))[out_index].data.reshape(-1).double().cpu()
            flat[k] = original
            columns.append((plus - minus) / (2 * eps))
    return torch.stack(columns, dim=1)
