"""`manage.py evaluate_scorer`: measure a scoring engine against the labeled evaluation set.

Prints per-signal precision/recall/F1 and micro-F1, the strong-vs-weak twin rate per behavior,
policy-violation recall and injection lift, for the dev split, the holdout split and both, of the
team's set and then of the blind set (written by someone who never saw the rules). With
``--public DIR`` it first measures the signals on public labelled data (EPITOME, AnnoMI) that
nobody here wrote, beside the baselines, with a confusion table per signal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from coachhub.core.llm import LLMError, default_llm_config
from scoring.engines import ENGINE_NAMES, EngineUnavailable, get_engine, scoring_engines
from scoring.evaluation import EVAL_SETS, evaluate, format_report, load_cases
from scoring.public_eval import PublicDataMissing, format_public_report, measure_all, tasks
from scoring.transcript import TranscriptError


class Command(BaseCommand):
    help = "Evaluate a scoring engine on the labeled evaluation set (figures, not pass/fail)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--engine", choices=ENGINE_NAMES, default="embedded")
        parser.add_argument("--split", choices=("dev", "holdout", "all", "each"), default="each")
        parser.add_argument(
            "--cases",
            type=Path,
            help="one labeled JSON-Lines file (default: the team set, then the blind set)",
        )
        parser.add_argument("--show-mismatches", action="store_true", help="list every disagreement")
        parser.add_argument(
            "--public", type=Path, help="folder of public labelled sets (epitome/, annomi/) to measure on"
        )
        parser.add_argument(
            "--public-only", action="store_true", help="with --public: skip the team's own evaluation set"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            llm_config = default_llm_config() if scoring_engines.needs_llm(options["engine"]) else None
            engine = get_engine(options["engine"], llm_config=llm_config)
            named = options["cases"]
            sets = (
                [("", load_cases(named))]
                if named
                else [(title, load_cases(path)) for title, path in EVAL_SETS]
            )
        except (EngineUnavailable, TranscriptError, OSError, KeyError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        splits = ("dev", "holdout", "all") if options["split"] == "each" else (options["split"],)
        self.stdout.write(f"engine: {engine.name} {engine.version}")
        if options["public"] is not None:
            try:
                results = measure_all(engine, list(tasks(options["public"])))
            except (PublicDataMissing, KeyError, ValueError) as exc:
                raise CommandError(f"public data: {exc}") from exc
            except LLMError as exc:
                raise CommandError(f"{exc.message} ({exc.detail})") from exc
            self.stdout.write(format_public_report(results))
            if options["public_only"]:
                return
        for heading, cases in sets:
            for split in splits:
                try:
                    report = evaluate(engine, cases, split, heading=heading)
                except LLMError as exc:
                    raise CommandError(f"{exc.message} ({exc.detail})") from exc
                self.stdout.write(format_report(report, verbose=options["show_mismatches"]))
