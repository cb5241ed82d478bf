"""The scenario spec: what one scenario version says, validated, as plain frozen dataclasses.

Pure Python on purpose (no ORM): the same code validates the authoring form, the API, YAML
import/export and the shipped starter library, and the customer engines read it without a
database. ``ScenarioSpec.to_dict(ScenarioSpec.from_dict(x))`` is ``x`` normalized (text
stripped, defaults filled in), so export → import → export is byte-for-byte stable.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from .behaviors import BEHAVIORS, CATALOGUE, DEFAULT_BEHAVIORS

# The authoring form leaves a default behavior's description out of its text when it is this one.
DEFAULT_BEHAVIOR_DESCRIPTIONS: dict[str, str] = {behavior.key: behavior.description for behavior in CATALOGUE}

MOMENTS: tuple[str, ...] = (
    "angry_complaint",
    "policy_refusal",
    "delayed_resolution",
    "billing_dispute",
    "cancellation",
    "technical_outage",
    "custom",
)

DIFFICULTIES: tuple[str, ...] = ("easy", "standard", "hard")

SLUG_MAX = 60
TITLE_MAX = 120
NAME_MAX = 80
KEY_MAX = 50
TEXT_MAX = 2000
LIST_MAX = 20
POLICIES_MAX = 10

# "<b>", "</p>", "<img src=…", "<!-- …", "<?php": a "<" followed by what starts a tag.
# Browsers don't start a tag at "< b" or "<5", so "a < b" and "<5 minutes" stay allowed.
_MARKUP = re.compile(r"<[A-Za-z!?/]")
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_BEHAVIOR_KEY = re.compile(r"^[a-z][a-z0-9_]*$")

PLAIN_TEXT_MESSAGE = "must be plain text, not HTML/markup"


class SpecError(ValueError):
    """A spec failed validation; ``errors`` maps every bad field's path to a message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors: dict[str, str] = dict(errors)
        summary = "; ".join(f"{path}: {message}" for path, message in self.errors.items())
        super().__init__(f"Invalid scenario ({len(self.errors)} problem(s)): {summary}")


@dataclass(frozen=True)
class DifficultyProfile:
    """How a difficulty changes the simulated customer, not just a label.

    ``patience`` is how many rep turns without progress the customer tolerates before
    frustration starts rising; the multipliers scale how much each calming / inflaming thing
    the rep does moves frustration; ``resolve_threshold`` is the default for
    ``end_conditions.resolve_frustration_at_most``.
    """

    starting_frustration_offset: int
    patience: int
    calm_multiplier: float
    inflame_multiplier: float
    resolve_threshold: int


DIFFICULTY_PROFILES: dict[str, DifficultyProfile] = {
    "easy": DifficultyProfile(-15, 4, 1.3, 0.7, 40),
    "standard": DifficultyProfile(0, 3, 1.0, 1.0, 30),
    "hard": DifficultyProfile(15, 2, 0.7, 1.3, 20),
}


@dataclass(frozen=True)
class HiddenDetail:
    """Something the customer only says when the rep asks the right thing."""

    detail: str
    revealed_when: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"detail": self.detail, "revealed_when": list(self.revealed_when)}


@dataclass(frozen=True)
class Persona:
    """The customer. ``facts`` and hidden ``detail``s are written in the customer's own voice."""

    name: str
    situation: str
    facts: tuple[str, ...]
    wants: str
    temperament: str
    base_frustration: int
    calmed_by: tuple[str, ...]
    inflamed_by: tuple[str, ...]
    hidden_details: tuple[HiddenDetail, ...]
    speaking_style: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "situation": self.situation,
            "facts": list(self.facts),
            "wants": self.wants,
            "temperament": self.temperament,
            "base_frustration": self.base_frustration,
            "calmed_by": list(self.calmed_by),
            "inflamed_by": list(self.inflamed_by),
            "hidden_details": [detail.to_dict() for detail in self.hidden_details],
            "speaking_style": self.speaking_style,
        }


@dataclass(frozen=True)
class EndConditions:
    """When a conversation stops. ``time_limit_minutes`` is enforced by the runner, not engines."""

    max_turns: int
    time_limit_minutes: int
    resolve_frustration_at_most: int
    escalate_frustration_at_least: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "max_turns": self.max_turns,
            "time_limit_minutes": self.time_limit_minutes,
            "resolve_frustration_at_most": self.resolve_frustration_at_most,
            "escalate_frustration_at_least": self.escalate_frustration_at_least,
        }


@dataclass(frozen=True)
class RubricBehavior:
    key: str
    weight: int
    description: str

    @property
    def is_custom(self) -> bool:
        return self.key not in DEFAULT_BEHAVIORS

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "weight": self.weight, "description": self.description}


@dataclass(frozen=True)
class Rubric:
    behaviors: tuple[RubricBehavior, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"behaviors": [behavior.to_dict() for behavior in self.behaviors]}


@dataclass(frozen=True)
class ScenarioSpec:
    slug: str
    title: str
    moment: str
    difficulty: str
    summary: str
    persona: Persona
    opening_line: str
    policies: tuple[str, ...]
    success_criteria: tuple[str, ...]
    end_conditions: EndConditions
    rubric: Rubric
    show_frustration_meter: bool

    @property
    def difficulty_profile(self) -> DifficultyProfile:
        return DIFFICULTY_PROFILES[self.difficulty]

    @property
    def starting_frustration(self) -> int:
        return _clamp(self.persona.base_frustration + self.difficulty_profile.starting_frustration_offset)

    @classmethod
    def from_dict(cls, data: Any) -> ScenarioSpec:
        """Validate ``data`` (parsed YAML/JSON/form input); raise SpecError naming every bad field."""
        collector = _Collector()
        spec = _parse_spec(collector, data, path="")
        collector.raise_if_any()
        assert spec is not None  # only None when the collector holds an error
        return spec

    def to_dict(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "title": self.title,
            "moment": self.moment,
            "difficulty": self.difficulty,
            "summary": self.summary,
            "persona": self.persona.to_dict(),
            "opening_line": self.opening_line,
            "policies": list(self.policies),
            "success_criteria": list(self.success_criteria),
            "end_conditions": self.end_conditions.to_dict(),
            "rubric": self.rubric.to_dict(),
            "show_frustration_meter": self.show_frustration_meter,
        }


def default_rubric() -> Rubric:
    """All default behaviors with their default weights (they add up to exactly 100)."""
    return Rubric(
        tuple(RubricBehavior(behavior.key, behavior.default_weight, behavior.description) for behavior in CATALOGUE)
    )


# --- YAML ------------------------------------------------------------------------------------

# Large enough for a library file of many scenarios; small enough that a pasted dump can't
# tie up a worker (aliases are cheap to parse but the limits below stop us walking them).
YAML_MAX_CHARS = 512_000


def load_yaml(text: str) -> list[ScenarioSpec]:
    """Parse one scenario mapping, or a mapping with a ``scenarios:`` list, into specs."""
    if len(text) > YAML_MAX_CHARS:
        raise SpecError({"yaml": f"file is too large (limit {YAML_MAX_CHARS} characters)"})
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SpecError({"yaml": _yaml_error_message(exc)}) from None
    except RecursionError:
        # PyYAML composes nested collections recursively: a few hundred "[" exhaust the stack.
        raise SpecError({"yaml": "nested too deeply to read; a scenario is only a few levels deep"}) from None
    if data is None:
        raise SpecError({"yaml": "file is empty"})
    if isinstance(data, Mapping) and "scenarios" in data:
        return _load_many(data)
    return [ScenarioSpec.from_dict(data)]


def dump_yaml(specs: Sequence[ScenarioSpec]) -> str:
    """One spec → a single mapping; several → ``scenarios:`` list. ``load_yaml`` reads both."""
    if len(specs) == 1:
        document: Any = specs[0].to_dict()
    else:
        document = {"scenarios": [spec.to_dict() for spec in specs]}
    return yaml.dump(
        document, Dumper=_SpecDumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100
    )


def _load_many(data: Mapping[Any, Any]) -> list[ScenarioSpec]:
    collector = _Collector()
    for key in data:
        if key != "scenarios":
            collector.add(str(key), "is not a known field (a file holds one scenario or a 'scenarios:' list)")
    items = data["scenarios"]
    specs: list[ScenarioSpec] = []
    if not isinstance(items, list) or not items:
        collector.add("scenarios", "must be a non-empty list of scenarios")
        collector.raise_if_any()
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        path = f"scenarios.{index}"
        spec = _parse_spec(collector, item, path=path)
        if spec is None:
            continue
        if spec.slug in seen:
            collector.add(f"{path}.slug", f"'{spec.slug}' is already used by scenarios.{seen[spec.slug]}")
        seen.setdefault(spec.slug, index)
        specs.append(spec)
    collector.raise_if_any()
    return specs


def _yaml_error_message(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is None:
        return f"not valid YAML: {problem}"
    return f"not valid YAML at line {mark.line + 1}, column {mark.column + 1}: {problem}"


class _SpecDumper(yaml.SafeDumper):
    """Writes multi-line text as ``|`` blocks and indents lists, so exported files read like authored ones."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_SpecDumper.add_representer(str, _represent_str)


# --- validation ------------------------------------------------------------------------------


class _Collector:
    """Gathers every problem so authors fix a file in one pass, not one error at a time."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def add(self, path: str, message: str) -> None:
        self.errors.setdefault(path or "scenario", message)

    def raise_if_any(self) -> None:
        if self.errors:
            raise SpecError(self.errors)


def _join(path: str, key: str | int) -> str:
    return f"{path}.{key}" if path else str(key)


def _clamp(value: int, low: int = 0, high: int = 100) -> int:
    return max(low, min(high, value))


def _mapping(
    c: _Collector, value: Any, path: str, allowed: Iterable[str], *, what: str = "a mapping of fields"
) -> Mapping[str, Any] | None:
    if not isinstance(value, Mapping):
        c.add(path, f"must be {what}")
        return None
    allowed_keys = set(allowed)
    for key in value:
        if key not in allowed_keys:
            c.add(_join(path, str(key)), "is not a known field")
    return value


def _text(c: _Collector, value: Any, path: str, *, max_len: int = TEXT_MAX, required: bool = True) -> str:
    if value is None:
        if required:
            c.add(path, "is required")
        return ""
    if not isinstance(value, str):
        # YAML turns unquoted 42 / yes / 2024-01-01 into non-strings; say how to fix it.
        c.add(path, "must be text (put it in quotes if it looks like a number, date or yes/no)")
        return ""
    text = value.strip()
    if required and not text:
        c.add(path, "must not be empty")
    elif len(text) > max_len:
        c.add(path, f"must be at most {max_len} characters (it has {len(text)})")
    elif _MARKUP.search(text):
        c.add(path, PLAIN_TEXT_MESSAGE)
    return text


def _text_list(
    c: _Collector,
    value: Any,
    path: str,
    *,
    min_items: int = 0,
    max_items: int = LIST_MAX,
    max_len: int = TEXT_MAX,
) -> tuple[str, ...]:
    if value is None:
        if min_items:
            c.add(path, "is required")
        return ()
    if not isinstance(value, list):
        c.add(path, "must be a list of text items")
        return ()
    if not min_items <= len(value) <= max_items:
        c.add(path, _count_message(min_items, max_items, len(value)))
        return ()
    return tuple(_text(c, item, _join(path, index), max_len=max_len) for index, item in enumerate(value))


def _count_message(min_items: int, max_items: int, actual: int) -> str:
    if min_items:
        return f"must have {min_items} to {max_items} items (it has {actual})"
    return f"must have at most {max_items} items (it has {actual})"


def _int(c: _Collector, value: Any, path: str, *, low: int, high: int, default: int | None) -> int:
    if value is None:
        if default is None:
            c.add(path, "is required")
            return low
        return default
    # bool is an int subclass in Python; "true" is never a meaningful number here.
    if isinstance(value, bool) or not isinstance(value, int):
        c.add(path, "must be a whole number")
        return default if default is not None else low
    if not low <= value <= high:
        c.add(path, f"must be between {low} and {high}")
    return value


def _choice(c: _Collector, value: Any, path: str, choices: Sequence[str], *, default: str | None) -> str:
    if value is None and default is not None:
        return default
    if value is None:
        c.add(path, "is required")
        return choices[0]
    if not isinstance(value, str) or value not in choices:
        c.add(path, f"must be one of: {', '.join(choices)}")
        return default or choices[0]
    return value


_SPEC_FIELDS = (
    "slug",
    "title",
    "moment",
    "difficulty",
    "summary",
    "persona",
    "opening_line",
    "policies",
    "success_criteria",
    "end_conditions",
    "rubric",
    "show_frustration_meter",
)


def _parse_spec(c: _Collector, data: Any, *, path: str) -> ScenarioSpec | None:
    fields = _mapping(c, data, path, _SPEC_FIELDS, what="a mapping of scenario fields")
    if fields is None:
        return None
    slug = _text(c, fields.get("slug"), _join(path, "slug"), max_len=SLUG_MAX)
    if slug and not _SLUG.match(slug) and _join(path, "slug") not in c.errors:
        c.add(_join(path, "slug"), "must use only lowercase letters, digits and single hyphens")
    difficulty = _choice(
        c, fields.get("difficulty"), _join(path, "difficulty"), DIFFICULTIES, default="standard"
    )
    persona = _parse_persona(c, fields.get("persona"), _join(path, "persona"))
    end_conditions = _parse_end_conditions(
        c, fields.get("end_conditions"), _join(path, "end_conditions"), DIFFICULTY_PROFILES[difficulty]
    )
    show_meter = fields.get("show_frustration_meter", True)
    if not isinstance(show_meter, bool):
        c.add(_join(path, "show_frustration_meter"), "must be true or false")
        show_meter = True
    spec = ScenarioSpec(
        slug=slug,
        title=_text(c, fields.get("title"), _join(path, "title"), max_len=TITLE_MAX),
        moment=_choice(c, fields.get("moment"), _join(path, "moment"), MOMENTS, default=None),
        difficulty=difficulty,
        summary=_text(c, fields.get("summary"), _join(path, "summary")),
        persona=persona,
        opening_line=_text(c, fields.get("opening_line"), _join(path, "opening_line")),
        policies=_text_list(
            c, fields.get("policies"), _join(path, "policies"), min_items=1, max_items=POLICIES_MAX
        ),
        success_criteria=_text_list(
            c, fields.get("success_criteria"), _join(path, "success_criteria"), min_items=1
        ),
        end_conditions=end_conditions,
        rubric=_parse_rubric(c, fields.get("rubric"), _join(path, "rubric")),
        show_frustration_meter=show_meter,
    )
    _check_start_below_escalation(c, spec, path)
    return spec


def _check_start_below_escalation(c: _Collector, spec: ScenarioSpec, path: str) -> None:
    # A customer who starts at the escalation line hangs up before the rep says a word.
    if _join(path, "persona.base_frustration") in c.errors:
        return
    if spec.starting_frustration >= spec.end_conditions.escalate_frustration_at_least:
        c.add(
            _join(path, "persona.base_frustration"),
            f"starts at {spec.starting_frustration} on {spec.difficulty} difficulty, which is already at "
            f"the escalation level ({spec.end_conditions.escalate_frustration_at_least}); lower it",
        )


_PERSONA_FIELDS = (
    "name",
    "situation",
    "facts",
    "wants",
    "temperament",
    "base_frustration",
    "calmed_by",
    "inflamed_by",
    "hidden_details",
    "speaking_style",
)


def _parse_persona(c: _Collector, value: Any, path: str) -> Persona:
    if value is None:
        c.add(path, "is required")
    fields = _mapping(c, value, path, _PERSONA_FIELDS) if value is not None else None
    if fields is None:
        # One "persona is required" beats ten "persona.name is required" lines.
        c = _Collector()
        fields = {}
    return Persona(
        name=_text(c, fields.get("name"), _join(path, "name"), max_len=NAME_MAX),
        situation=_text(c, fields.get("situation"), _join(path, "situation")),
        facts=_text_list(c, fields.get("facts"), _join(path, "facts")),
        wants=_text(c, fields.get("wants"), _join(path, "wants")),
        temperament=_text(c, fields.get("temperament"), _join(path, "temperament"), required=False),
        base_frustration=_int(
            c, fields.get("base_frustration"), _join(path, "base_frustration"), low=0, high=100, default=50
        ),
        calmed_by=_text_list(c, fields.get("calmed_by"), _join(path, "calmed_by"), max_len=NAME_MAX),
        inflamed_by=_text_list(c, fields.get("inflamed_by"), _join(path, "inflamed_by"), max_len=NAME_MAX),
        hidden_details=_parse_hidden_details(c, fields.get("hidden_details"), _join(path, "hidden_details")),
        speaking_style=_text(c, fields.get("speaking_style"), _join(path, "speaking_style"), required=False),
    )


def _parse_hidden_details(c: _Collector, value: Any, path: str) -> tuple[HiddenDetail, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        c.add(path, "must be a list of {detail, revealed_when} items")
        return ()
    if len(value) > LIST_MAX:
        c.add(path, _count_message(0, LIST_MAX, len(value)))
        return ()
    details = []
    for index, item in enumerate(value):
        item_path = _join(path, index)
        fields = _mapping(c, item, item_path, ("detail", "revealed_when")) or {}
        details.append(
            HiddenDetail(
                detail=_text(c, fields.get("detail"), _join(item_path, "detail")),
                revealed_when=_text_list(
                    c,
                    fields.get("revealed_when"),
                    _join(item_path, "revealed_when"),
                    min_items=1,
                    max_len=NAME_MAX,
                ),
            )
        )
    return tuple(details)


def _parse_end_conditions(c: _Collector, value: Any, path: str, profile: DifficultyProfile) -> EndConditions:
    fields = (
        _mapping(
            c,
            value,
            path,
            (
                "max_turns",
                "time_limit_minutes",
                "resolve_frustration_at_most",
                "escalate_frustration_at_least",
            ),
        )
        if value is not None
        else {}
    ) or {}
    conditions = EndConditions(
        max_turns=_int(c, fields.get("max_turns"), _join(path, "max_turns"), low=2, high=100, default=20),
        time_limit_minutes=_int(
            c,
            fields.get("time_limit_minutes"),
            _join(path, "time_limit_minutes"),
            low=1,
            high=120,
            default=15,
        ),
        resolve_frustration_at_most=_int(
            c,
            fields.get("resolve_frustration_at_most"),
            _join(path, "resolve_frustration_at_most"),
            low=0,
            high=100,
            default=profile.resolve_threshold,
        ),
        escalate_frustration_at_least=_int(
            c,
            fields.get("escalate_frustration_at_least"),
            _join(path, "escalate_frustration_at_least"),
            low=0,
            high=100,
            default=90,
        ),
    )
    if (
        conditions.resolve_frustration_at_most >= conditions.escalate_frustration_at_least
        and not c.errors.keys()
        & {
            _join(path, "resolve_frustration_at_most"),
            _join(path, "escalate_frustration_at_least"),
        }
    ):
        c.add(
            _join(path, "resolve_frustration_at_most"),
            "must be lower than escalate_frustration_at_least",
        )
    return conditions


def _parse_rubric(c: _Collector, value: Any, path: str) -> Rubric:
    if value is None:
        return default_rubric()
    fields = _mapping(c, value, path, ("behaviors",)) or {}
    behaviors_path = _join(path, "behaviors")
    items = fields.get("behaviors")
    if not isinstance(items, list) or not items or len(items) > LIST_MAX:
        c.add(behaviors_path, f"must be a list of 1 to {LIST_MAX} behaviors, each with key and weight")
        return default_rubric()
    behaviors = tuple(
        _parse_behavior(c, item, _join(behaviors_path, index)) for index, item in enumerate(items)
    )
    seen: set[str] = set()
    for index, behavior in enumerate(behaviors):
        if behavior.key in seen:
            c.add(_join(_join(behaviors_path, index), "key"), f"'{behavior.key}' is listed twice")
        seen.add(behavior.key)
    total = sum(behavior.weight for behavior in behaviors)
    if total != 100:
        c.add(behaviors_path, f"weights must add up to 100 (they add up to {total})")
    return Rubric(behaviors)


def _parse_behavior(c: _Collector, item: Any, path: str) -> RubricBehavior:
    fields = _mapping(c, item, path, ("key", "weight", "description")) or {}
    key_path = _join(path, "key")
    key = _text(c, fields.get("key"), key_path, max_len=KEY_MAX)
    if key and key_path not in c.errors and not _BEHAVIOR_KEY.match(key):
        c.add(key_path, "must be lowercase letters, digits and underscores, starting with a letter")
    weight = _int(c, fields.get("weight"), _join(path, "weight"), low=1, high=100, default=None)
    description = _text(c, fields.get("description"), _join(path, "description"), required=False)
    if key in DEFAULT_BEHAVIORS:
        description = description or BEHAVIORS[key].description
    elif key and not description and key_path not in c.errors:
        c.add(
            key_path,
            f"'{key}' is not a default behavior ({', '.join(DEFAULT_BEHAVIORS)}); "
            "add a description to define it as a custom behavior",
        )
    return RubricBehavior(key=key, weight=weight, description=description)
