"""``manage.py check_scenario``: the realism check for a starter-library scenario (see
``sessions.engines.realism``). Prints one JSON report per scenario; exits non-zero when a check
fails, with one line naming the failed checks (or the LLM failure) on stderr."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from coachhub.core.llm import LLMError, terminal_error_line
from scenarios.library import library_specs
from sessions.engines import ENGINE_NAMES
from sessions.engines.realism import check_scenario
from sessions.management.commands.run_roleplay import _resolve_engine, _resolve_spec


class Command(BaseCommand):
    help = "Run the realism check (strong rep, dismissive rep, probes) against a scenario's customer."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--scenario", metavar="SLUG", help="Slug of a starter-library scenario.")
        parser.add_argument("--all", action="store_true", help="Check every starter-library scenario.")
        parser.add_argument("--engine", choices=ENGINE_NAMES, default="embedded", help="Customer engine.")
        parser.add_argument("--seed", type=int, default=0, help="Seed for the customer's wording (default 0).")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["all"] and not options["scenario"]:
            raise CommandError("Pass --scenario <slug>, or --all to check every starter scenario.")
        specs = library_specs() if options["all"] else [_resolve_spec(slug=options["scenario"])]
        engine = _resolve_engine(options["engine"])
        failed: list[str] = []
        for spec in specs:
            try:
                report = check_scenario(engine, spec, seed=options["seed"])
            except LLMError as exc:
                raise CommandError(terminal_error_line("The LLM customer", exc)) from None
            self.stdout.write(json.dumps(report.to_dict(), ensure_ascii=False))
            if not report.passed:
                checks = [name for name in (
                    "calms_under_good_practice", "escalates_under_bad_practice", "winnable_within_turn_limit",
                    "hidden_details_reachable", "stays_in_character",
                ) if not getattr(report, name)]
                failed.append(f"{spec.slug} ({', '.join(checks)})")
        if failed:
            raise CommandError("Realism check failed: " + "; ".join(failed))
