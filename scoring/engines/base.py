"""The interface every behavior-scoring engine implements, and the result shape they all return.

The embedded scorer and the LLM judge both produce a `ScoreResult`; `to_dict()` is the JSON that
the `score_transcript` command prints and that scoring jobs store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from scoring.transcript import Transcript

if TYPE_CHECKING:
    from coachhub.tenancy.budget import CallBudget

PolicyStatus = Literal["followed", "violated", "not_applicable"]

NOT_OBSERVED = "not observed"
NOT_SCORED = "not scored by the embedded engine"


@dataclass(frozen=True, slots=True)
class Evidence:
    turn: int
    quote: str

    def to_dict(self) -> dict[str, Any]:
        return {"turn": self.turn, "quote": self.quote}


@dataclass(frozen=True, slots=True)
class BehaviorScore:
    score: int | None
    rationale: str
    confidence: float
    evidence: tuple[Evidence, ...] = ()

    @classmethod
    def not_observed(cls) -> BehaviorScore:
        return cls(score=None, rationale=NOT_OBSERVED, confidence=0.0)

    @classmethod
    def not_scored(cls, rationale: str = NOT_SCORED) -> BehaviorScore:
        return cls(score=None, rationale=rationale, confidence=0.0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "rationale": self.rationale,
            "confidence": round(self.confidence, 2),
            "evidence": [item.to_dict() for item in self.evidence],
        }


@dataclass(frozen=True, slots=True)
class PolicyVerdict:
    policy: int
    status: PolicyStatus
    turn: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"policy": self.policy, "status": self.status, "turn": self.turn}


@dataclass(frozen=True, slots=True)
class TurnSignals:
    turn: int
    signals: tuple[str, ...]
    # The kind of each question the turn asks, in order: "open" (invites the customer to tell more)
    # or "closed" (a yes, a no or one fact); empty when it asks nothing.
    questions: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"turn": self.turn, "signals": list(self.signals), "questions": list(self.questions)}


@dataclass(frozen=True, slots=True)
class Focus:
    behavior: str
    tip: str
    example: str

    def to_dict(self) -> dict[str, Any]:
        return {"behavior": self.behavior, "tip": self.tip, "example": self.example}


@dataclass(frozen=True, slots=True)
class Delivery:
    words_per_minute: float | None
    pauses: int | None
    fillers: int | None

    def to_dict(self) -> dict[str, Any]:
        return {"words_per_minute": self.words_per_minute, "pauses": self.pauses, "fillers": self.fillers}


@dataclass(frozen=True, slots=True)
class ScoreResult:
    behaviors: dict[str, BehaviorScore]
    policies: tuple[PolicyVerdict, ...]
    turns: tuple[TurnSignals, ...]
    focus: Focus | None
    overall: int | None
    delivery: Delivery | None = None

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "behaviors": {key: score.to_dict() for key, score in self.behaviors.items()},
            "policies": [verdict.to_dict() for verdict in self.policies],
            "turns": [signals.to_dict() for signals in self.turns],
            "focus": self.focus.to_dict() if self.focus else None,
            "overall": self.overall,
        }
        if self.delivery is not None:
            result["delivery"] = self.delivery.to_dict()
        return result


@runtime_checkable
class BehaviorScorer(Protocol):
    """Scores one transcript. Implementations must be deterministic for a given `version`.

    `token_estimate` is what a job reserves against the tenant's AI budget before `score` (0 for an
    engine that calls no model); `tokens_used` what it used, or None when the engine can't tell (the
    job is then charged its whole reservation). An engine that makes several calls per transcript
    meters each through `budget` instead and estimates 0 up front."""

    name: str
    version: str

    def score(self, transcript: Transcript, *, budget: CallBudget | None = None) -> ScoreResult:
        """`budget`, when the job gives one, meters each model call an engine makes on its own."""
        ...

    def token_estimate(self, transcript: Transcript) -> int: ...

    def tokens_used(self, result: ScoreResult) -> int | None: ...


def weighted_overall(behaviors: dict[str, BehaviorScore], weights: dict[str, float]) -> int | None:
    """Rubric-weighted mean over the behaviors that got a score; weights renormalize over those."""
    scored = [
        (weights.get(key, 0.0), item.score) for key, item in behaviors.items() if item.score is not None
    ]
    total_weight = sum(weight for weight, _ in scored)
    if total_weight <= 0:
        return None
    return round(sum(weight * score for weight, score in scored if score is not None) / total_weight)
