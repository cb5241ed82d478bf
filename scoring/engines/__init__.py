"""Behavior-scoring engines behind one interface (`BehaviorScorer`), looked up by name."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scoring.engines.base import BehaviorScorer, ScoreResult
from scoring.engines.embedded import EmbeddedScorer

if TYPE_CHECKING:
    from coachhub.core.llm import LLMConfig

ENGINE_NAMES: tuple[str, ...] = ("embedded", "llm")

NO_LLM_CONFIG_MESSAGE = "No LLM endpoint is configured: set LLM_BASE_URL or the tenant's AI settings"


class EngineUnavailable(LookupError):
    """The named engine exists in the product but cannot run here (yet)."""


def get_engine(name: str, *, llm_config: LLMConfig | None = None) -> BehaviorScorer:
    """The engine called ``name``; raises EngineUnavailable for one that can't run here.

    ``llm_config`` is where the ``llm`` judge calls its model (the tenant's AI settings, or
    ``coachhub.core.llm.default_llm_config()``); the caller chooses, so this stays free of settings.
    """
    if name == "embedded":
        return EmbeddedScorer()
    if name == "llm":
        if llm_config is None:
            raise EngineUnavailable(NO_LLM_CONFIG_MESSAGE)
        from scoring.engines.llm_judge import LLMJudge

        return LLMJudge(llm_config)
    raise EngineUnavailable(f"unknown scoring engine {name!r}; choose one of {', '.join(ENGINE_NAMES)}")


__all__ = [
    "ENGINE_NAMES",
    "NO_LLM_CONFIG_MESSAGE",
    "BehaviorScorer",
    "EmbeddedScorer",
    "EngineUnavailable",
    "ScoreResult",
    "get_engine",
]
