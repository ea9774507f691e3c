"""`ModuleTraversal`: the walks over a Module's tree (modules, children, parameters, buffers), the lookups
by dotted path (get_submodule, get_parameter, get_buffer), `apply` and the parameter summary.

Every walk uses an explicit stack (no recursion): pre-order, registration order, shared modules and tensors
once unless `remove_duplicate=False`, exactly as torch.nn.Module's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .module import Module
    from .parameter import Parameter


class ModuleTraversal:
    """The traversal half of `Module` (mixed into it): every method reads `_modules`, `_parameters`, `_buffers`."""

    _modules: dict[str, Any]
    _parameters: dict[str, Any]
    _buffers: dict[str, Any]

    def get_submodule(self, target: str) -> Module:
        """The submodule at the dotted path `target` ("" is self); AttributeError names the missing step."""
        module = self
        for item in target.split(".") if target else []:
            if not hasattr(module, item):
                raise AttributeError(f"{type(module).__name__} has no attribute `{item}`")
            module = getattr(module, item)
            if not isinstance(module, ModuleTraversal):  # every Module is one
                raise AttributeError(f"`{item}` is not an nn.Module")
        return module

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at the dotted path `target`, e.g. `encoder.conv1.weight`."""
        return self._get_member(target, "_parameters", "an nn.Parameter")

    def get_buffer(self, target: str) -> Any:
        """The buffer at the dotted path `target`, e.g. `bn.running_mean`."""
        return self._get_member(target, "_buffers", "a buffer")

    def _get_member(self, target: str, registry: str, what: str) -> Any:
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        if not hasattr(module, name):
            raise AttributeError(f"{type(module).__name__} has no attribute `{name}`")
        if name not in getattr(module, registry):
            raise AttributeError(f"`{name}` is not {what}")
        return getattr(module, name)

    def named_modules(
        self, memo: set[Module] | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """(dotted name, module) for this module ("" or `prefix`) and every descendant, in pre-order.

        A module reached twice (shared) is yielded once unless `remove_duplicate=False`; `memo` holds those seen.
        """
        seen: set[Module] = set() if memo is None else memo
        stack: list[tuple[str, Module]] = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if remove_duplicate:
                if module in seen:
                    continue
                seen.add(module)
            yield name, module
            children = [(f"{name}.{n}" if name else n, m) for n, m in module._modules.items() if m is not None]
            stack.extend(reversed(children))

    def modules(self, remove_duplicate: bool = True) -> Iterator[Module]:
        """This module and every descendant (shared ones once unless `remove_duplicate=False`), in pre-order."""
        for _, module in self.named_modules(remove_duplicate=remove_duplicate):
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(name, module) of the direct submodules (each once), in registration order."""
        seen: set[int] = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self) -> Iterator[Module]:
        """The direct submodules, in registration order."""
        yield from (m for _, m in self.named_children())

    def _named_members(
        self, registry: str, prefix: str, recurse: bool, remove_duplicate: bool
    ) -> Iterator[tuple[str, Any]]:
        """(dotted name, tensor) from each module's `registry`, as torch's `_named_members`."""
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        seen: set[int] = set()
        for module_name, module in modules:
            for name, value in getattr(module, registry).items():
                if value is None or id(value) in seen:
                    continue
                if remove_duplicate:
                    seen.add(id(value))
                yield (f"{module_name}.{name}" if module_name else name), value

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) of every parameter (shared ones once), e.g. `0.weight`, `enc.conv1.bias`."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every parameter (shared ones once), in registration order; hand these to an optimizer."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Any]]:
        """(dotted name, buffer) of every buffer, persistent or not (shared ones once), e.g. `bn.running_var`."""
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Any]:
        """Every buffer (persistent or not), in registration order."""
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def num_parameters(self, trainable_only: bool = False) -> int:
        """Total number of scalar parameters (only those requiring a gradient if `trainable_only`)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call `fn` on every submodule (children first, as torch does) and then on self; returns self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def summary(self) -> str:
        """A table of every module holding parameters (name, type, parameter shapes, count) and the total."""
        rows = [("name", "type", "parameters", "count")]
        for name, module in self.named_modules():
            own = [p for p in module._parameters.values() if p is not None]
            if own:
                shapes = ", ".join("x".join(map(str, p.shape)) for p in own)
                rows.append((name or "(self)", type(module).__name__, shapes, f"{sum(p.numel() for p in own):,}"))
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
        lines.insert(1, "-" * len(lines[0]))
        total, trainable = self.num_parameters(), self.num_parameters(trainable_only=True)
        lines.append(f"Total parameters: {total:,} (trainable: {trainable:,})")
        return "\n".join(lines)
