"""Customer engines behind one interface (``base.CustomerEngine``); ``get_engine`` picks one by name."""

from __future__ import annotations

from sessions.engines.base import CustomerEngine, EngineUnavailable

ENGINE_NAMES: tuple[str, ...] = ("embedded", "llm")


def get_engine(name: str) -> CustomerEngine:
    """The engine called ``name``; raises EngineUnavailable for one that can't run here yet."""
    if name == "embedded":
        from sessions.engines.embedded import EmbeddedCustomerEngine

        return EmbeddedCustomerEngine()
    if name == "llm":
        # The LLM engine (sessions/engines/llm.py) is wired in by the lead; until then say so plainly.
        raise EngineUnavailable("The llm engine is not available yet: only the embedded engine is built.")
    raise EngineUnavailable(f"Unknown engine '{name}'. Choose one of: {', '.join(ENGINE_NAMES)}.")
