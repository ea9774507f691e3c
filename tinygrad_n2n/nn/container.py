"""Containers: Sequential (a chain of modules) and ModuleList (a registered list)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any

from .module import Module


class Sequential(Module):
    """Modules applied in order: `Sequential(a, b, c)(x) == c(b(a(x)))`; children are named 0, 1, 2, ...

    Also accepts one OrderedDict of name -> module. Supports indexing, slicing (a new Sequential sharing the
    modules), len, iteration and append.
    """

    def __init__(self, *modules: Module | OrderedDict[str, Module]) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self.add_module(name, _checked(module, name))
        else:
            for index, module in enumerate(modules):
                self.add_module(str(index), _checked(module, str(index)))

    def forward(self, x: Any) -> Any:
        """x -> the last module's output, each module fed the previous one's."""
        for module in self._modules.values():
            x = module(x)
        return x

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, index: int | slice) -> Any:
        items = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(OrderedDict(items[index]))
        try:
            return items[index.__index__()][1]
        except IndexError:
            raise IndexError(f"Sequential: index {index} is out of range for {len(items)} modules") from None

    def append(self, module: Module) -> Sequential:
        """Add `module` at the end (named by its position); returns self."""
        self.add_module(str(len(self)), _checked(module, str(len(self))))
        return self


class ModuleList(Module):
    """A list of modules registered as children 0, 1, 2, ...; indexing, len, iteration, append, extend."""

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        self.extend(modules or [])

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, index: int | slice) -> Any:
        values = list(self._modules.values())
        return ModuleList(values[index]) if isinstance(index, slice) else values[index]

    def append(self, module: Module) -> ModuleList:
        """Add `module` at the end (named by its position); returns self."""
        self.add_module(str(len(self)), _checked(module, str(len(self))))
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Append each of `modules` in order; returns self."""
        for module in modules:
            self.append(module)
        return self


def _checked(module: Any, name: str) -> Module:
    if not isinstance(module, Module):
        raise TypeError(f"container: entry {name} must be a Module, got {type(module).__name__}")
    return module
