"""A small name → factory registry with "did you mean" errors, shared by spaces, strategies and proxies."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from nas_workbench.exceptions import UnknownNameError

T = TypeVar("T")


def unknown_name_message(kind: str, name: object, available: list[str], place: str = "") -> str:
    """Format the standard error for a bad registry name: the value, the allowed set, a suggestion.
    ``place`` follows the name ("Unknown option 'foo' of strategy 'tpe'", "Unknown study 'x' in sqlite:///...")."""
    message = f"Unknown {kind} {name!r}{f' {place}' if place else ''}. Available: {', '.join(available)}."
    close = difflib.get_close_matches(str(name), available, n=1)
    if close:
        message += f" Did you mean {close[0]!r}?"
    return message


def _same_definition(old: object, new: object) -> bool:
    """Whether ``new`` is ``old`` defined again: a named class or function of the same module and qualified
    name. Lambdas all share one qualified name, so two of them are never the same definition."""
    qualname = getattr(old, "__qualname__", None)
    return (
        isinstance(qualname, str)
        and "<lambda>" not in qualname
        and qualname == getattr(new, "__qualname__", None)
        and getattr(old, "__module__", None) == getattr(new, "__module__", None)
    )


class Registry(Generic[T]):
    """Maps names to objects (usually factories), in registration order.

    Args:
        kind: What the registry holds, in words, for error messages ("search space").
        definition: The class or function that defines an item, to recognise a redefinition (default: the
            item itself; a registry of records passes the function inside them).
        unknown_hint: A sentence an unknown name's error ends with: how an item of the user's own is
            found (a registry users add to).
    """

    def __init__(
        self, kind: str, definition: Callable[[T], object] | None = None, unknown_hint: str = ""
    ) -> None:
        self.kind = kind
        self.unknown_hint = unknown_hint
        self._definition: Callable[[T], object] = definition or (lambda item: item)
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator that registers its target under ``name``."""

        def decorate(item: T) -> T:
            self.add(name, item)
            return item

        return decorate

    def add(self, name: str, item: T) -> None:
        """Register ``item`` under ``name``; names are unique.

        A redefinition of the registered item (the same module and qualified name: a notebook cell run
        again after an edit, a reloaded module, a class made again by the same function) replaces it; any
        other item under a taken name is an error.
        """
        if name in self._items and not _same_definition(
            self._definition(self._items[name]), self._definition(item)
        ):
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._items[name] = item

    def get(self, name: str) -> T:
        """Return the item registered as ``name`` or raise `UnknownNameError` with a suggestion."""
        try:
            return self._items[name]
        except (KeyError, TypeError):
            raise UnknownNameError(self.unknown(name)) from None

    def unknown(self, name: object) -> str:
        """The error for ``name`` when it is not registered: the names, a suggestion, `unknown_hint`."""
        return f"{unknown_name_message(self.kind, name, self.names())} {self.unknown_hint}".rstrip()

    def names(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
