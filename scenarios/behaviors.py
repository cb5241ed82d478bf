"""The six default behaviors every scorer understands: key, the label people read, the description a
rubric gets when an author doesn't write one, and the weight it has in the default rubric.

Pure Python (no Django) so the spec, the scorers and the transcript format can all read it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Behavior:
    key: str
    label: str
    # Filled in when an author lists the behavior without describing it, so every rubric that
    # reaches a scorer or a report has words a coach can read.
    description: str
    # Its weight in a scenario's default rubric; the six add up to exactly 100.
    default_weight: int
    # What the judge reads for a transcript that brings no rubric of its own (`score_transcript`),
    # where every behavior weighs the same. Shorter than `description` for historical reasons;
    # kept word for word so the judge's prompt, and so its scores, don't move.
    judge_description: str


CATALOGUE: tuple[Behavior, ...] = (
    Behavior(
        "active_listening", "Active listening",
        "Shows the customer they were heard: paraphrases, asks relevant questions, "
        "does not ask again for what was already said.",
        17, "Reflects and builds on what the customer said.",
    ),
    Behavior(
        "empathy", "Empathy",
        "Acknowledges the customer's feelings and the impact on them before fixing things.",
        17, "Acknowledges the customer's feelings without reflexive apologies.",
    ),
    Behavior(
        "clarity", "Clarity",
        "Explains plainly, gives the reason behind a rule, avoids internal jargon.",
        17, "Plain, specific, concise language.",
    ),
    Behavior(
        "confidence_under_pressure", "Confidence under pressure",
        "Stays calm and definite under pressure; no hedging, no dismissing.",
        17, "Stays steady and holds policy calmly, with reasons.",
    ),
    Behavior(
        "next_step_ownership", "Next-step ownership",
        "Owns a concrete next step with a time and says who will do what.",
        16, "Commits to a concrete action, owner and time.",
    ),
    Behavior(
        "instruction_adherence", "Instruction adherence",
        "Follows the scenario's policies.",
        16, "Follows the scenario's policies.",
    ),
)

DEFAULT_BEHAVIORS: tuple[str, ...] = tuple(behavior.key for behavior in CATALOGUE)
BEHAVIORS: dict[str, Behavior] = {behavior.key: behavior for behavior in CATALOGUE}
BEHAVIOR_LABELS: dict[str, str] = {behavior.key: behavior.label for behavior in CATALOGUE}

assert sum(behavior.default_weight for behavior in CATALOGUE) == 100


def behavior_label(key: str) -> str:
    """What people read for a behavior: the catalogue's label, or a custom key in words
    ("handles_refunds" → "Handles refunds")."""
    return BEHAVIOR_LABELS.get(key) or key.replace("_", " ").capitalize()
