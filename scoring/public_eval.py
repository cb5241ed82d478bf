"""Measures a scoring engine's signals on public labelled data nobody on the team wrote.

The folder (``../shared/eval/public`` in development) holds dev parts of EPITOME and AnnoMI. Each
labelled item becomes a two-turn transcript, the help-seeker's post or the client's utterance as
the customer and the response or therapist's utterance as the rep, and the signals the engine
finds on the rep turn are compared with the label (macro-F1 over present/absent, with the
confusion table). The files are read, never copied: their licences allow measuring, not shipping.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from scoring.engines.base import BehaviorScorer
from scoring.transcript import Scenario, Transcript, Turn

# Figures the scorer is compared with: the first-wave rule scorer, the "contains ?" rule and a
# TF-IDF logistic regression trained in-domain (5-fold CV), from the data folder's README.
BASELINES: dict[str, dict[str, float]] = {
    "empathy (EPITOME emotional reactions)": {"rules v1": 0.49, "tf-idf in-domain": 0.763},
    "reflection (AnnoMI)": {"rules v1": 0.58, "tf-idf in-domain": 0.747},
    "question (AnnoMI)": {"rules v1": 0.87, "contains '?'": 0.858, "tf-idf in-domain": 0.803},
    # Measured here on the same items: "open" when any sentence starts (after fillers) with a wh-word.
    "open question (AnnoMI questions, open vs closed)": {"wh-word first": 0.712},
}
TARGETS = {
    "empathy (EPITOME emotional reactions)": 0.75,
    "reflection (AnnoMI)": 0.72,
    "question (AnnoMI)": 0.88,
}
_SCENARIO = Scenario(title="Public evaluation item", moment="public", policies=())


class PublicDataMissing(FileNotFoundError):
    pass


@dataclass(frozen=True, slots=True)
class Item:
    customer: str
    rep: str
    positive: bool


@dataclass(slots=True)
class Confusion:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, gold: bool, predicted: bool) -> None:
        if gold and predicted:
            self.tp += 1
        elif predicted:
            self.fp += 1
        elif gold:
            self.fn += 1
        else:
            self.tn += 1

    @staticmethod
    def _f1(tp: int, fp: int, fn: int) -> float:
        return 2 * tp / (2 * tp + fp + fn) if tp else 0.0

    @property
    def macro_f1(self) -> float:
        return (self._f1(self.tp, self.fp, self.fn) + self._f1(self.tn, self.fn, self.fp)) / 2


@dataclass(frozen=True, slots=True)
class SignalTask:
    name: str
    signal: str
    items: tuple[Item, ...]


def _read_csv(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise PublicDataMissing(
            f"{path} is missing: point --public at the folder holding epitome/ and annomi/"
        )
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def epitome_items(folder: Path) -> list[Item]:
    rows = _read_csv(folder / "epitome" / "emotional-reactions-reddit.csv")
    return [Item(row["seeker_post"], row["response_post"], int(row["level"]) >= 1) for row in rows]


def annomi_pairs(folder: Path) -> list[tuple[str, str, str]]:
    """(client utterance, therapist utterance, main behaviour) where the client spoke just before."""
    return [(client, therapist, label) for client, therapist, label, _ in _annomi_pairs_with_keys(folder)]


def _annomi_pairs_with_keys(folder: Path) -> list[tuple[str, str, str, tuple[str, str]]]:
    rows = _read_csv(folder / "annomi" / "AnnoMI-simple.csv")
    by_transcript: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_transcript.setdefault(row["transcript_id"], []).append(row)
    pairs = []
    for utterances in by_transcript.values():
        utterances.sort(key=lambda row: int(row["utterance_id"]))
        for before, row in zip(utterances, utterances[1:], strict=False):
            if row["interlocutor"] == "therapist" and before["interlocutor"] == "client":
                pairs.append(
                    (
                        before["utterance_text"],
                        row["utterance_text"],
                        row["main_therapist_behaviour"],
                        (row["transcript_id"], row["utterance_id"]),
                    )
                )
    return pairs


def question_kinds(folder: Path) -> dict[tuple[str, str], bool]:
    """(transcript_id, utterance_id) -> True when the annotators called the question open.

    AnnoMI-full repeats an utterance once per annotator; the majority kind wins (ties: open)."""
    votes: dict[tuple[str, str], list[bool]] = {}
    for row in _read_csv(folder / "annomi" / "AnnoMI-full.csv"):
        if row["question_subtype"] in ("open", "closed"):
            key = (row["transcript_id"], row["utterance_id"])
            votes.setdefault(key, []).append(row["question_subtype"] == "open")
    return {key: 2 * sum(kinds) >= len(kinds) for key, kinds in votes.items()}


def annomi_question_items(folder: Path) -> list[Item]:
    """Therapist questions after a client turn, positive when open: the open/closed split of ``question``."""
    kinds = question_kinds(folder)
    items = []
    for client, therapist, _, key in _annomi_pairs_with_keys(folder):
        if key in kinds:
            items.append(Item(client, therapist, kinds[key]))
    return items


def tasks(folder: Path) -> Iterator[SignalTask]:
    yield SignalTask("empathy (EPITOME emotional reactions)", "empathy", tuple(epitome_items(folder)))
    pairs = annomi_pairs(folder)
    for behaviour in ("reflection", "question"):
        items = tuple(Item(client, therapist, label == behaviour) for client, therapist, label in pairs)
        yield SignalTask(f"{behaviour} (AnnoMI)", behaviour, items)
    yield SignalTask(
        "open question (AnnoMI questions, open vs closed)",
        OPEN_QUESTION,
        tuple(annomi_question_items(folder)),
    )


# Not a signal of its own: a turn counts as asking an open question when the engine calls any of
# its questions open (``TurnSignals.questions``); a turn with no question found counts as closed.
OPEN_QUESTION = "open question"


def rep_signals(engine: BehaviorScorer, item: Item) -> set[str]:
    transcript = Transcript(
        scenario=_SCENARIO, turns=(Turn("customer", item.customer), Turn("rep", item.rep))
    )
    result = engine.score(transcript)
    if not result.turns:
        return set()
    found = set(result.turns[0].signals)
    if "open" in result.turns[0].questions:
        found.add(OPEN_QUESTION)
    return found


def measure_all(engine: BehaviorScorer, signal_tasks: list[SignalTask]) -> list[tuple[SignalTask, Confusion]]:
    """Each task's confusion table; an item shared by two tasks (AnnoMI) is scored once."""
    seen: dict[tuple[str, str], set[str]] = {}
    results = []
    for task in signal_tasks:
        confusion = Confusion()
        for item in task.items:
            key = (item.customer, item.rep)
            if key not in seen:
                seen[key] = rep_signals(engine, item)
            confusion.add(item.positive, task.signal in seen[key])
        results.append((task, confusion))
    return results


def format_public_report(results: list[tuple[SignalTask, Confusion]]) -> str:
    lines = ["== public dev data (measure only; never trained on) =="]
    for task, confusion in results:
        baselines = ", ".join(f"{name} {value:.2f}" for name, value in BASELINES.get(task.name, {}).items())
        target = TARGETS.get(task.name)
        if target is None:
            verdict = "; no target set"
        else:
            met = "met" if confusion.macro_f1 >= target else "missed"
            verdict = f" (target {met}); target {target:.2f}"
        lines.append(
            f"{task.name}: macro-F1 {confusion.macro_f1:.3f}{verdict}; "
            f"baselines: {baselines}; n={len(task.items)}"
        )
        lines.append(f"  {'':<14}{'predicted yes':>14}{'predicted no':>14}")
        lines.append(f"  {'label yes':<14}{confusion.tp:>14}{confusion.fn:>14}")
        lines.append(f"  {'label no':<14}{confusion.fp:>14}{confusion.tn:>14}")
    return "\n".join(lines)
