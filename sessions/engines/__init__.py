"""Customer engines behind one interface (``base.CustomerEngine``), registered by name in
``customer_engines``. A new engine is its own module plus one ``register`` line here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from coachhub.core.engines import NO_LLM_CONFIG_MESSAGE, EngineRegistry, EngineUnavailable
from sessions.engines.base import CustomerEngine

if TYPE_CHECKING:
    from coachhub.core.llm import LLMConfig

customer_engines: EngineRegistry[CustomerEngine] = EngineRegistry(
    "customer", unknown="Unknown engine '{name}'. Choose one of: {choices}."
)
customer_engines.register("embedded", "sessions.engines.embedded.EmbeddedCustomerEngine")
customer_engines.register("llm", "sessions.engines.llm.LLMCustomerEngine", needs_llm=True)

ENGINE_NAMES: tuple[str, ...] = customer_engines.names()


def get_engine(name: str, *, llm_config: LLMConfig | None = None) -> CustomerEngine:
    """The engine called ``name``; raises EngineUnavailable for one that can't run here."""
    return customer_engines.create(name, llm_config=llm_config)


__all__ = ["ENGINE_NAMES", "NO_LLM_CONFIG_MESSAGE", "EngineUnavailable", "customer_engines", "get_engine"]
