"""Transcript dataclasses shared by every scoring engine, plus validation of the JSON transcript format.

Pure Python on purpose: the embedded scorer, the LLM judge, the evaluation harness and the
`score_transcript` command all read transcripts without touching the database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from scenarios.behaviors import CATALOGUE

Speaker = Literal["customer", "rep"]
SPEAKERS: tuple[str, ...] = ("customer", "rep")
VOICE_FIELDS: tuple[str, ...] = ("words_per_minute", "pauses", "fillers")


@dataclass(frozen=True, slots=True)
class RubricItem:
    key: str
    weight: float = 1.0
    description: str = ""


# The behaviors every engine understands, from the catalogue. Weights are equal: a scenario that cares
# more about one behavior says so in its own rubric.
DEFAULT_RUBRIC: tuple[RubricItem, ...] = tuple(
    RubricItem(behavior.key, 1.0, behavior.judge_description) for behavior in CATALOGUE
)
# A set, not the catalogue's ordered tuple: the engines compare sets of keys with it.
DEFAULT_BEHAVIORS: frozenset[str] = frozenset(item.key for item in DEFAULT_RUBRIC)


@dataclass(frozen=True, slots=True)
class Scenario:
    title: str
    moment: str
    policies: tuple[str, ...] = ()
    rubric: tuple[RubricItem, ...] = DEFAULT_RUBRIC


@dataclass(frozen=True, slots=True)
class Turn:
    speaker: Speaker
    text: str
    latency_ms: int | None = None
    words_per_minute: float | None = None
    pauses: int | None = None
    fillers: int | None = None

    @property
    def is_rep(self) -> bool:
        return self.speaker == "rep"

    @property
    def has_voice(self) -> bool:
        return any(getattr(self, name) is not None for name in VOICE_FIELDS)


@dataclass(frozen=True, slots=True)
class Transcript:
    scenario: Scenario
    turns: tuple[Turn, ...] = field(default_factory=tuple)

    def rep_turn_indices(self) -> list[int]:
        return [index for index, turn in enumerate(self.turns) if turn.is_rep]


class TranscriptError(ValueError):
    """A transcript does not match the format; the message names the offending field."""

    def __init__(self, field_path: str, problem: str) -> None:
        self.field_path = field_path
        self.problem = problem
        super().__init__(f"{field_path} {problem}")


def transcript_from_dict(data: Any) -> Transcript:
    """Validate a decoded JSON transcript and build a `Transcript`, or raise `TranscriptError`."""
    if not isinstance(data, Mapping):
        raise TranscriptError("transcript", "must be a JSON object")
    scenario = _scenario_from(_require(data, "scenario", "scenario"))
    raw_turns = _require(data, "turns", "turns")
    if not isinstance(raw_turns, list):
        raise TranscriptError("turns", "must be a list")
    turns = tuple(_turn_from(raw, f"turns[{index}]") for index, raw in enumerate(raw_turns))
    return Transcript(scenario=scenario, turns=turns)


def _require(data: Mapping[str, Any], key: str, path: str) -> Any:
    if key not in data:
        raise TranscriptError(path, "is required")
    return data[key]


def _string(data: Mapping[str, Any], key: str, path: str, *, required: bool = True) -> str:
    if key not in data:
        if required:
            raise TranscriptError(path, "is required")
        return ""
    value = data[key]
    if not isinstance(value, str):
        raise TranscriptError(path, "must be a string")
    return value


def _scenario_from(raw: Any) -> Scenario:
    if not isinstance(raw, Mapping):
        raise TranscriptError("scenario", "must be a JSON object")
    title = _string(raw, "title", "scenario.title")
    moment = _string(raw, "moment", "scenario.moment")
    policies = raw.get("policies", [])
    if not isinstance(policies, list):
        raise TranscriptError("scenario.policies", "must be a list of strings")
    for index, policy in enumerate(policies):
        if not isinstance(policy, str):
            raise TranscriptError(f"scenario.policies[{index}]", "must be a string")
    rubric = _rubric_from(raw["rubric"]) if "rubric" in raw else DEFAULT_RUBRIC
    return Scenario(title=title, moment=moment, policies=tuple(policies), rubric=rubric)


def _rubric_from(raw: Any) -> tuple[RubricItem, ...]:
    if not isinstance(raw, list) or not raw:
        raise TranscriptError("scenario.rubric", "must be a non-empty list")
    items: list[RubricItem] = []
    seen: set[str] = set()
    for index, entry in enumerate(raw):
        path = f"scenario.rubric[{index}]"
        if not isinstance(entry, Mapping):
            raise TranscriptError(path, "must be a JSON object")
        key = _string(entry, "key", f"{path}.key")
        if not key or key in seen:
            raise TranscriptError(f"{path}.key", "must be a unique non-empty string")
        seen.add(key)
        weight = entry.get("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
            raise TranscriptError(f"{path}.weight", "must be a non-negative number")
        description = _string(entry, "description", f"{path}.description", required=False)
        items.append(RubricItem(key=key, weight=float(weight), description=description))
    return tuple(items)


def _turn_from(raw: Any, path: str) -> Turn:
    if not isinstance(raw, Mapping):
        raise TranscriptError(path, "must be a JSON object")
    speaker = _require(raw, "speaker", f"{path}.speaker")
    if speaker not in SPEAKERS:
        raise TranscriptError(f"{path}.speaker", "must be 'customer' or 'rep'")
    text = _string(raw, "text", f"{path}.text")
    return Turn(
        speaker=speaker,
        text=text,
        latency_ms=_optional_number(raw, "latency_ms", path, integer=True),
        words_per_minute=_optional_number(raw, "words_per_minute", path, integer=False),
        pauses=_optional_number(raw, "pauses", path, integer=True),
        fillers=_optional_number(raw, "fillers", path, integer=True),
    )


def _optional_number(raw: Mapping[str, Any], key: str, path: str, *, integer: bool) -> Any:
    if raw.get(key) is None:
        return None
    value = raw[key]
    allowed: tuple[type, ...] = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, allowed) or value < 0:
        kind = "integer" if integer else "number"
        raise TranscriptError(f"{path}.{key}", f"must be a non-negative {kind}")
    return value


def transcript_to_dict(transcript: Transcript) -> dict[str, Any]:
    """The inverse of `transcript_from_dict`, used by the evaluation harness to build variants."""
    turns: list[dict[str, Any]] = []
    for turn in transcript.turns:
        entry: dict[str, Any] = {"speaker": turn.speaker, "text": turn.text}
        for name in ("latency_ms", *VOICE_FIELDS):
            if getattr(turn, name) is not None:
                entry[name] = getattr(turn, name)
        turns.append(entry)
    scenario = transcript.scenario
    return {
        "scenario": {
            "title": scenario.title,
            "moment": scenario.moment,
            "policies": list(scenario.policies),
            "rubric": [
                {"key": item.key, "weight": item.weight, "description": item.description}
                for item in scenario.rubric
            ],
        },
        "turns": turns,
    }


def with_turns(transcript: Transcript, turns: Sequence[Turn]) -> Transcript:
    return Transcript(scenario=transcript.scenario, turns=tuple(turns))
