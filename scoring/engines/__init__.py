"""Behavior-scoring engines behind one interface (`BehaviorScorer`), looked up by name."""

from __future__ import annotations

from scoring.engines.base import BehaviorScorer, ScoreResult
from scoring.engines.embedded import EmbeddedScorer

ENGINE_NAMES: tuple[str, ...] = ("embedded", "llm")


class EngineUnavailable(LookupError):
    """The named engine exists in the product but cannot run here (yet)."""


def get_engine(name: str) -> BehaviorScorer:
    if name == "embedded":
        return EmbeddedScorer()
    if name == "llm":
        raise EngineUnavailable("the LLM judge is not wired yet")
    raise EngineUnavailable(f"unknown scoring engine {name!r}; choose one of {', '.join(ENGINE_NAMES)}")


__all__ = [
    "ENGINE_NAMES",
    "BehaviorScorer",
    "EmbeddedScorer",
    "EngineUnavailable",
    "ScoreResult",
    "get_engine",
]
