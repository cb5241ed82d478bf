"""Behavior-scoring engines behind one interface (`BehaviorScorer`), registered by name in
`scoring_engines`. A new engine is its own module plus one `register` line here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from coachhub.core.engines import NO_LLM_CONFIG_MESSAGE, EngineRegistry, EngineUnavailable
from scoring.engines.base import BehaviorScorer, ScoreResult
from scoring.engines.embedded import EmbeddedScorer

if TYPE_CHECKING:
    from coachhub.core.llm import LLMConfig

scoring_engines: EngineRegistry[BehaviorScorer] = EngineRegistry(
    "scorer", unknown="unknown scoring engine {name!r}; choose one of {choices}"
)
scoring_engines.register("embedded", EmbeddedScorer)
scoring_engines.register("llm", "scoring.engines.llm_judge.LLMJudge", needs_llm=True)

ENGINE_NAMES: tuple[str, ...] = scoring_engines.names()


def get_engine(name: str, *, llm_config: LLMConfig | None = None) -> BehaviorScorer:
    """The engine called ``name``; raises EngineUnavailable for one that can't run here."""
    return scoring_engines.create(name, llm_config=llm_config)


__all__ = [
    "ENGINE_NAMES",
    "NO_LLM_CONFIG_MESSAGE",
    "BehaviorScorer",
    "EmbeddedScorer",
    "EngineUnavailable",
    "ScoreResult",
    "get_engine",
    "scoring_engines",
]
