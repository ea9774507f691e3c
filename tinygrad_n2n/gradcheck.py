"""`gradcheck`: compare the engine's gradients with central finite differences, in float64.

Independent of torch.autograd: the numerical Jacobian comes from perturbing each input element by ±eps,
the analytical one from one engine backward per output element.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from ._tensor import Tensor


class GradcheckError(AssertionError):
    """Raised when the engine's gradient and the finite-difference gradient disagree."""


def _as_outputs(result) -> list[Tensor]:
    outputs = list(result) if isinstance(result, (tuple, list)) else [result]
    for index, output in enumerate(outputs):
        if not isinstance(output, Tensor):
            raise TypeError(
                f"gradcheck: fn must return an engine Tensor or a tuple/list of them; output {index} is a "
                f"{type(output).__module__}.{type(output).__qualname__}"
            )
    return outputs


def gradcheck(
    fn: Callable[..., Tensor], inputs: Sequence, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3
) -> bool:
    """Check d fn(*inputs) / d input for every input tensor that requires a gradient.

    inputs: engine tensors (floating ones become contiguous float64 copies, so the caller's data is never
    perturbed; integer ones, e.g. class indices, pass unchanged) or other arguments passed through unchanged.
    fn returns one engine tensor or a tuple/list of them; a floating-point output that needs no gradient (a
    graph cut by detach or no_grad) counts as a zero analytical gradient. NaN anywhere counts as a mismatch.
    Returns True, or raises GradcheckError naming the input, the output and the worst element.
    """
    if not eps > 0 or not atol >= 0 or not rtol >= 0:
        raise ValueError(f"gradcheck: need eps > 0, atol ≥ 0 and rtol ≥ 0, got eps={eps}, atol={atol}, rtol={rtol}")
    inputs = [_float64_copy(x) if isinstance(x, Tensor) and x.data.is_floating_point() else x for x in inputs]
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires a gradient")
    outputs = _as_outputs(fn(*inputs))
    for out_index, output in enumerate(outputs):
        if not output.data.is_floating_point():
            continue
        if output.requires_grad:
            analytic = _analytic_jacobian(fn, inputs, checked, out_index, output.numel())
        else:
            analytic = [torch.zeros(output.numel(), inputs[i].numel(), dtype=torch.float64) for i in checked]
        for position, i in enumerate(checked):
            numeric = _numeric_jacobian(fn, inputs, i, out_index, eps)
            difference = (analytic[position] - numeric).abs()
            bad = ~(difference <= atol + rtol * numeric.abs())  # NaN on either side is bad
            if bad.any():
                row, col = divmod(int(torch.where(bad, difference.nan_to_num(torch.inf), -1.0).argmax()), bad.shape[1])
                cut = "" if output.requires_grad else " (the output needs no gradient: was the graph cut?)"
                raise GradcheckError(
                    f"gradcheck: d output[{out_index}] / d input[{i}] differs at output element {row}, input "
                    f"element {col}: backward gives {analytic[position][row, col].item():.6g}{cut}, finite "
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
            plus = _output_copy(fn, inputs, out_index)
            flat[k] = original - eps
            minus = _output_copy(fn, inputs, out_index)
            flat[k] = original
            columns.append((plus - minus) / (2 * eps))
    return torch.stack(columns, dim=1)


def _output_copy(fn, inputs, out_index) -> torch.Tensor:
    """fn's output, flat, as a float64 CPU copy: it may be a view of an input (reshape, slicing) that changes next."""
    return _as_outputs(fn(*inputs))[out_index].data.reshape(-1).to("cpu", torch.float64, copy=True)
