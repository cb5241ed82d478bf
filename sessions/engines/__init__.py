"""Customer engines behind one interface (``base.CustomerEngine``); ``get_engine`` picks one by name."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sessions.engines.base import CustomerEngine, EngineUnavailable

if TYPE_CHECKING:
    from coachhub.core.llm import LLMConfig

ENGINE_NAMES: tuple[str, ...] = ("embedded", "llm")

NO_LLM_CONFIG_MESSAGE = "No LLM endpoint is configured: set LLM_BASE_URL or the tenant's AI settings"


def get_engine(name: str, *, llm_config: LLMConfig | None = None) -> CustomerEngine:
    """The engine called ``name``; raises EngineUnavailable for one that can't run here.

    ``llm_config`` is where the ``llm`` engine calls its model (the tenant's AI settings, or
    ``coachhub.core.llm.default_llm_config()``); the caller chooses, so this stays free of settings.
    """
    if name == "embedded":
        from sessions.engines.embedded import EmbeddedCustomerEngine

        return EmbeddedCustomerEngine()
    if name == "llm":
        if llm_config is None:
            raise EngineUnavailable(NO_LLM_CONFIG_MESSAGE)
        from sessions.engines.llm import LLMCustomerEngine

        return LLMCustomerEngine(llm_config)
    raise EngineUnavailable(f"Unknown engine '{name}'. Choose one of: {', '.join(ENGINE_NAMES)}.")
