"""What the LLM judge must answer, and the checks that decide whether an answer can be trusted.

``verdict_schema`` is a JSON Schema (a plain dict, built per transcript so that behavior keys, rep
turn numbers and policy numbers are exact); ``schema_errors`` checks the subset of JSON Schema it
uses, so no dependency is needed. ``parse_verdict`` then checks what a schema can't say: every rep
turn and policy answered exactly once, scored behaviors cite evidence, and every quote is verbatim
in the rep turn it cites. Any problem rejects the whole answer: nothing is ever half accepted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from scoring.engines.base import NOT_OBSERVED, BehaviorScore, Evidence, Focus, PolicyVerdict, TurnSignals
from scoring.engines.judge_prompt import MAX_EVIDENCE, display_text
from scoring.engines.signals import SIGNAL_NAMES
from scoring.transcript import Transcript

POLICY_STATUSES: tuple[str, ...] = ("followed", "violated", "not_applicable")
# Generous bounds: they exist to refuse runaway output, not to police style. A judge that cites a
# few more items than asked is not wrong; only the first MAX_EVIDENCE are kept.
MAX_EVIDENCE_ACCEPTED = 6
MAX_QUOTE_CHARS = 600
MAX_TEXT_CHARS = 1200
MAX_REPORTED_PROBLEMS = 8

JsonSchema = dict[str, Any]


class InvalidVerdict(ValueError):
    """The judge's answer can't be used; ``problems`` says why, each naming a JSON path."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems[:MAX_REPORTED_PROBLEMS])
        more = len(problems) - len(self.problems)
        super().__init__("; ".join(self.problems) + (f"; and {more} more" if more > 0 else ""))


@dataclass(frozen=True, slots=True)
class JudgeVerdict:
    """A validated answer, already in the result types; quotes are verbatim spans of the transcript."""

    behaviors: dict[str, BehaviorScore]
    policies: tuple[PolicyVerdict, ...]
    turns: tuple[TurnSignals, ...]
    focus: Focus | None


# --- the schema ----------------------------------------------------------------------------------


def _text(max_length: int = MAX_TEXT_CHARS) -> JsonSchema:
    return {"type": "string", "minLength": 1, "maxLength": max_length}


def _closed(properties: dict[str, JsonSchema]) -> JsonSchema:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def verdict_schema(transcript: Transcript) -> JsonSchema:
    """The JSON Schema of a judge answer for this transcript."""
    rep_turn: JsonSchema = {"type": "integer", "enum": transcript.rep_turn_indices()}
    policy_count = len(transcript.scenario.policies)
    evidence = _closed({"turn": rep_turn, "quote": _text(MAX_QUOTE_CHARS)})
    behavior = _closed(
        {
            "score": {"type": ["integer", "null"], "minimum": 0, "maximum": 100},
            "rationale": {"type": "string", "maxLength": MAX_TEXT_CHARS},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "evidence": {"type": "array", "items": evidence, "maxItems": MAX_EVIDENCE_ACCEPTED},
        }
    )
    verdict = _closed(
        {
            "policy": {"type": "integer", "minimum": 0, "maximum": policy_count - 1},
            "status": {"type": "string", "enum": list(POLICY_STATUSES)},
            "turn": {"type": ["integer", "null"], "enum": [*transcript.rep_turn_indices(), None]},
        }
    )
    signals = _closed(
        {
            "turn": rep_turn,
            "signals": {"type": "array", "items": {"type": "string", "enum": list(SIGNAL_NAMES)}},
        }
    )
    focus = _closed({"behavior": {"type": "string"}, "tip": _text(), "example": _text()})
    return _closed(
        {
            "behaviors": _closed({item.key: behavior for item in transcript.scenario.rubric}),
            "policies": {"type": "array", "items": verdict, "maxItems": policy_count},
            "turns": {"type": "array", "items": signals},
            "focus": {"anyOf": [{"type": "null"}, focus]},
        }
    )


# --- a small validator for the subset of JSON Schema used above ----------------------------------


def _is_type(value: Any, name: str) -> bool:
    if name == "null":
        return value is None
    if name == "boolean":
        return isinstance(value, bool)
    if name == "integer":
        # JSON Schema counts 3.0 as an integer; bool is never a number.
        return not isinstance(value, bool) and (
            isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        )
    if name == "number":
        return not isinstance(value, bool) and isinstance(value, int | float)
    if name == "string":
        return isinstance(value, str)
    if name == "array":
        return isinstance(value, list)
    if name == "object":
        return isinstance(value, dict)
    raise ValueError(f"unsupported schema type {name!r}")


def schema_errors(value: Any, schema: JsonSchema, path: str = "$") -> list[str]:
    """Every way ``value`` breaks ``schema`` (type, enum, bounds, lengths, items, properties, anyOf)."""
    if "anyOf" in schema:
        if any(not schema_errors(value, option, path) for option in schema["anyOf"]):
            return []
        return [f"{path} matches none of the allowed shapes"]
    types = schema.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else types
        if not any(_is_type(value, name) for name in names):
            return [f"{path} must be {' or '.join(names)}"]
    if "enum" in schema and not any(_same(value, option) for option in schema["enum"]):
        return [f"{path} must be one of {json.dumps(schema['enum'])}"]
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, int | float):
        return _bound_errors(value, schema, path)
    if isinstance(value, str):
        return _length_errors(len(value), schema, path, "minLength", "maxLength", "characters")
    if isinstance(value, list):
        errors = _length_errors(len(value), schema, path, "minItems", "maxItems", "items")
        for index, item in enumerate(value):
            errors += schema_errors(item, schema.get("items", {}), f"{path}[{index}]")
        return errors
    if isinstance(value, dict):
        return _object_errors(value, schema, path)
    return []


def _same(value: Any, option: Any) -> bool:
    # Python says True == 1 and 1.0 == 1; JSON Schema agrees on the second only.
    return isinstance(value, bool) == isinstance(option, bool) and value == option


def _bound_errors(value: float, schema: JsonSchema, path: str) -> list[str]:
    if "minimum" in schema and value < schema["minimum"]:
        return [f"{path} must be at least {schema['minimum']}"]
    if "maximum" in schema and value > schema["maximum"]:
        return [f"{path} must be at most {schema['maximum']}"]
    return []


def _length_errors(size: int, schema: JsonSchema, path: str, low: str, high: str, unit: str) -> list[str]:
    if low in schema and size < schema[low]:
        return [f"{path} must have at least {schema[low]} {unit}"]
    if high in schema and size > schema[high]:
        return [f"{path} must have at most {schema[high]} {unit}"]
    return []


def _object_errors(value: dict[str, Any], schema: JsonSchema, path: str) -> list[str]:
    properties: dict[str, JsonSchema] = schema.get("properties", {})
    errors = [f"{path}.{key} is required" for key in schema.get("required", []) if key not in value]
    if schema.get("additionalProperties") is False:
        errors += [f"{path}.{key} is not allowed" for key in value if key not in properties]
    for key, item in value.items():
        if key in properties:
            errors += schema_errors(item, properties[key], f"{path}.{key}")
    return errors


# --- quotes --------------------------------------------------------------------------------------


def find_quote(quote: str, text: str) -> str | None:
    """The span of ``text`` that ``quote`` copies, whitespace aside, or None when it isn't there.

    The model saw ``display_text(text)`` (same length, markup disarmed), so a quote of the shown text
    is found there and mapped back: what we store is always an exact substring of the original.
    """
    words = quote.split()
    if not words:
        return None
    pattern = re.compile(r"\s+".join(re.escape(word) for word in words))
    for haystack in (text, display_text(text)):
        match = pattern.search(haystack)
        if match is not None:
            return text[match.start() : match.end()]
    return None


# --- from checked JSON to a verdict --------------------------------------------------------------


def parse_verdict(raw: str, transcript: Transcript) -> JudgeVerdict:
    """Decode, validate and convert one judge answer; raises ``InvalidVerdict`` on any problem."""
    data = _decode(raw)
    problems = schema_errors(data, verdict_schema(transcript))
    if problems:
        raise InvalidVerdict(problems)
    behaviors, problems = _behaviors(data["behaviors"], transcript)
    policies, policy_problems = _policies(data["policies"], len(transcript.scenario.policies))
    turns, turn_problems = _turns(data["turns"], transcript.rep_turn_indices())
    focus, focus_problems = _focus(data["focus"], behaviors)
    problems += policy_problems + turn_problems + focus_problems
    if problems:
        raise InvalidVerdict(problems)
    return JudgeVerdict(behaviors=behaviors, policies=policies, turns=turns, focus=focus)


def _decode(raw: str) -> Any:
    text = raw.strip()
    # JSON mode forbids fences, but some OpenAI-compatible servers add them anyway.
    fenced = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", text, re.DOTALL)
    if fenced:
        text = fenced.group(1)
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvalidVerdict([f"$ is not valid JSON ({exc})"]) from exc


def _behaviors(
    raw: dict[str, dict[str, Any]], transcript: Transcript
) -> tuple[dict[str, BehaviorScore], list[str]]:
    behaviors: dict[str, BehaviorScore] = {}
    problems: list[str] = []
    for item in transcript.scenario.rubric:
        path = f"$.behaviors.{item.key}"
        entry = raw[item.key]
        if entry["score"] is None:
            behaviors[item.key] = BehaviorScore.not_observed()
            continue
        evidence, evidence_problems = _evidence(entry["evidence"], transcript, path)
        problems += evidence_problems
        if not evidence_problems and not evidence:
            problems.append(f"{path}.evidence must cite at least one rep turn for a scored behavior")
        if not entry["rationale"].strip() or entry["rationale"].strip() == NOT_OBSERVED:
            problems.append(f"{path}.rationale must explain the score")
        behaviors[item.key] = BehaviorScore(
            score=int(entry["score"]),
            rationale=entry["rationale"].strip(),
            confidence=float(entry["confidence"]),
            evidence=evidence,
        )
    return behaviors, problems


def _evidence(
    raw: list[dict[str, Any]], transcript: Transcript, path: str
) -> tuple[tuple[Evidence, ...], list[str]]:
    found: list[Evidence] = []
    problems: list[str] = []
    for index, item in enumerate(raw):
        turn = int(item["turn"])
        verbatim = find_quote(item["quote"], transcript.turns[turn].text)
        if verbatim is None:
            problems.append(f"{path}.evidence[{index}].quote is not verbatim in rep turn {turn}")
        elif Evidence(turn, verbatim) not in found:
            found.append(Evidence(turn, verbatim))
    return tuple(found[:MAX_EVIDENCE]), problems


def _policies(raw: list[dict[str, Any]], policy_count: int) -> tuple[tuple[PolicyVerdict, ...], list[str]]:
    problems: list[str] = []
    by_policy: dict[int, PolicyVerdict] = {}
    for index, item in enumerate(raw):
        policy, turn = int(item["policy"]), item["turn"]
        if policy in by_policy:
            problems.append(f"$.policies[{index}] repeats policy {policy}")
        if item["status"] == "violated" and turn is None:
            problems.append(f"$.policies[{index}].turn must name the rep turn that broke policy {policy}")
        by_policy[policy] = PolicyVerdict(policy, item["status"], None if turn is None else int(turn))
    missing = [str(policy) for policy in range(policy_count) if policy not in by_policy]
    if missing:
        problems.append(f"$.policies has no verdict for policy {', '.join(missing)}")
    return tuple(by_policy[key] for key in sorted(by_policy)), problems


def _turns(raw: list[dict[str, Any]], rep_turns: list[int]) -> tuple[tuple[TurnSignals, ...], list[str]]:
    problems: list[str] = []
    by_turn: dict[int, TurnSignals] = {}
    for index, item in enumerate(raw):
        turn = int(item["turn"])
        if turn in by_turn:
            problems.append(f"$.turns[{index}] repeats turn {turn}")
        named = set(item["signals"])
        by_turn[turn] = TurnSignals(turn, tuple(name for name in SIGNAL_NAMES if name in named))
    missing = [str(turn) for turn in rep_turns if turn not in by_turn]
    if missing:
        problems.append(f"$.turns has no entry for rep turn {', '.join(missing)}")
    return tuple(by_turn[key] for key in sorted(by_turn)), problems


def _focus(raw: dict[str, str] | None, behaviors: dict[str, BehaviorScore]) -> tuple[Focus | None, list[str]]:
    scored = [key for key, item in behaviors.items() if item.score is not None]
    if raw is None:
        return None, (["$.focus must pick a scored behavior"] if scored else [])
    if raw["behavior"] not in scored:
        return None, [f"$.focus.behavior must be one of the scored behaviors {json.dumps(scored)}"]
    return Focus(raw["behavior"], raw["tip"].strip(), raw["example"].strip()), []


# Keywords a constrained-decoding grammar compiler turns into huge state machines (llama.cpp
# expands maxLength 2000 into 2000 optional characters, and crashed on it). The answer is still
# checked against the full schema above; what the server gets only shapes the JSON.
_GRAMMAR_HEAVY = frozenset({"maxLength", "minLength", "maxItems", "minItems", "minimum", "maximum"})


def wire_schema(schema: Any) -> Any:
    """``schema`` without the bounds that make grammar compilers blow up: types, enums, required
    keys and closed objects stay, lengths and numeric bounds go (``parse_verdict`` enforces them)."""
    if isinstance(schema, dict):
        return {key: wire_schema(value) for key, value in schema.items() if key not in _GRAMMAR_HEAVY}
    if isinstance(schema, list):
        return [wire_schema(item) for item in schema]
    return schema
