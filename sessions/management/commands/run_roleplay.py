"""``manage.py run_roleplay``: play a scenario against a customer engine from the terminal.

Stdout is JSON lines only (one object per utterance, then ``{"end_reason": …}``) so runs can be
piped, diffed and replayed; the interactive prompt goes to stderr. Without ``--tenant`` it plays
a starter-library scenario and writes nothing to the database.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser

from scenarios.library import LibraryScenarioNotFound, library_get, library_specs
from scenarios.spec import ScenarioSpec
from sessions.engines import ENGINE_NAMES, get_engine
from sessions.engines.base import CustomerEngine, EngineUnavailable, Utterance

Emit = Callable[[dict[str, Any]], None]


class Command(BaseCommand):
    help = "Role-play a scenario against a customer engine; prints JSON lines."
    # Lets tests (and scripts) feed interactive input: call_command(..., stdin=StringIO(...)).
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--list", action="store_true", help="List the starter-library scenarios.")
        parser.add_argument("--scenario", metavar="SLUG", help="Slug of the scenario to play.")
        parser.add_argument("--engine", choices=ENGINE_NAMES, default="embedded", help="Customer engine.")
        parser.add_argument(
            "--tenant", metavar="SLUG", help="Play a tenant's scenario instead of the library's."
        )
        parser.add_argument(
            "--seed", type=int, default=0, help="Seed for the customer's wording (default 0)."
        )
        parser.add_argument(
            "--rep-script",
            metavar="FILE",
            help="File with one rep line per line (blank lines skipped). Without it, play interactively.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            for spec in library_specs():
                self._emit({"slug": spec.slug, "title": spec.title, "moment": spec.moment})
            return
        if not options["scenario"]:
            raise CommandError("Pass --list, or --scenario <slug> to play one.")
        spec = _resolve_spec(slug=options["scenario"], tenant_slug=options["tenant"])
        engine = _resolve_engine(options["engine"])
        if options["rep_script"]:
            rep_lines: Iterable[str] = _read_rep_script(options["rep_script"])
        else:
            rep_lines = _interactive_lines(options.get("stdin") or sys.stdin, self.stderr)
        play(engine=engine, spec=spec, seed=options["seed"], rep_lines=rep_lines, emit=self._emit)

    def _emit(self, payload: dict[str, Any]) -> None:
        self.stdout.write(json.dumps(payload, ensure_ascii=False))


def play(
    *, engine: CustomerEngine, spec: ScenarioSpec, seed: int, rep_lines: Iterable[str], emit: Emit
) -> str:
    """Run one conversation in memory, emitting each utterance; returns the end reason.

    Turn 0 is the customer's opening line; rep and customer turns alternate after it.
    """
    customer, state = engine.start(spec, seed=seed)
    history = [Utterance("customer", customer.text)]
    emit({"turn": 0, "speaker": "customer", "text": customer.text, "frustration": customer.frustration})
    end_reason = "rep_ended"
    for rep_text in rep_lines:
        emit({"turn": len(history), "speaker": "rep", "text": rep_text})
        customer, state = engine.respond(spec, state, rep_text, history=tuple(history))
        history += [Utterance("rep", rep_text), Utterance("customer", customer.text)]
        emit(
            {
                "turn": len(history) - 1,
                "speaker": "customer",
                "text": customer.text,
                "frustration": customer.frustration,
            }
        )
        if customer.end_reason is not None:
            end_reason = customer.end_reason
            break
    emit({"end_reason": end_reason})
    return end_reason


def _resolve_spec(*, slug: str, tenant_slug: str | None) -> ScenarioSpec:
    if tenant_slug is not None:
        # DB-backed runs go through the sessions services once they exist (lead wires this).
        raise CommandError(
            f"Tenant scenarios are not available yet: --tenant {tenant_slug} needs the scenario and "
            "session services. Leave out --tenant to play a starter-library scenario."
        )
    try:
        return library_get(slug)
    except LibraryScenarioNotFound as exc:
        raise CommandError(str(exc)) from None


def _resolve_engine(name: str) -> CustomerEngine:
    try:
        return get_engine(name)
    except EngineUnavailable as exc:
        raise CommandError(str(exc)) from None


def _read_rep_script(path: str) -> list[str]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CommandError(f"Rep script not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"Can't read rep script {path}: {exc}") from None
    return [line.strip() for line in text.splitlines() if line.strip()]


def _interactive_lines(stdin: TextIO, prompt_out: Any) -> Iterator[str]:
    """Rep lines typed at a "> " prompt until end of input (Ctrl-D) or Ctrl-C."""
    while True:
        prompt_out.write("> ", ending="")
        prompt_out.flush()
        try:
            line = stdin.readline()
        except KeyboardInterrupt:
            return
        if not line:
            return
        yield line.rstrip("\r\n")
