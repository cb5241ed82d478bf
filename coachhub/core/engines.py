"""Engine registries: each engine package (the customer in `sessions/engines`, the scorer in
`scoring/engines`) keeps one `EngineRegistry`, and callers pick engines by name through it.

An entry says what callers would otherwise guess from the name: whether the engine needs an LLM
endpoint. Everything else an engine declares about itself (answers inline or streams, its token
estimate and usage) is on the engine object, per the package's protocol. Registries index
themselves by kind here, so code below the apps (tenancy's AI-settings form) can ask "does this
engine need an endpoint?" without importing an app.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

E = TypeVar("E")

NO_LLM_CONFIG_MESSAGE = "No LLM endpoint is configured: set LLM_BASE_URL or the tenant's AI settings"


class EngineUnavailable(LookupError):
    """The named engine can't run here: unknown, or it needs an LLM endpoint nobody configured."""


@dataclass(frozen=True)
class EngineEntry:
    name: str
    # A callable, or "package.module.Class" imported on first use (keeps openai & co. off the demo's path).
    factory: Callable[..., Any] | str
    needs_llm: bool = False

    def build(self, llm_config: Any = None) -> Any:
        factory = self.factory
        if isinstance(factory, str):
            module_name, _, attribute = factory.rpartition(".")
            factory = getattr(importlib.import_module(module_name), attribute)
        if self.needs_llm:
            if llm_config is None:
                raise EngineUnavailable(NO_LLM_CONFIG_MESSAGE)
            return factory(llm_config)
        return factory()


class EngineRegistry(Generic[E]):
    """Engines of one kind by name, in registration order (the first is the default)."""

    def __init__(self, kind: str, *, unknown: str) -> None:
        self.kind = kind
        # How an unknown name is reported: formatted with {name} and {choices}.
        self._unknown = unknown
        self._entries: dict[str, EngineEntry] = {}
        _REGISTRIES[kind] = self

    def register(self, name: str, factory: Callable[..., E] | str, *, needs_llm: bool = False) -> None:
        self._entries[name] = EngineEntry(name=name, factory=factory, needs_llm=needs_llm)

    def unregister(self, name: str) -> None:
        self._entries.pop(name, None)

    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def needs_llm(self, name: str) -> bool:
        entry = self._entries.get(name)
        return bool(entry and entry.needs_llm)

    def create(self, name: str, *, llm_config: Any = None) -> E:
        """The engine called `name`; raises EngineUnavailable for one that can't run here.
        `llm_config` is where an engine that needs an LLM calls it; the caller chooses (the tenant's
        AI settings or `default_llm_config()`), so registries stay free of settings."""
        entry = self._entries.get(name)
        if entry is None:
            raise EngineUnavailable(self._unknown.format(name=name, choices=", ".join(self._entries)))
        return entry.build(llm_config)


_REGISTRIES: dict[str, EngineRegistry[Any]] = {}


def engine_needs_llm(kind: str, name: str) -> bool:
    """Whether the `kind` engine called `name` calls an LLM (False for a kind nobody registered)."""
    registry = _REGISTRIES.get(kind)
    return bool(registry and registry.needs_llm(name))
