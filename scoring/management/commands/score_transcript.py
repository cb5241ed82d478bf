"""`manage.py score_transcript FILE`: score one JSON transcript or a JSON-Lines file of them.

Prints one JSON result per transcript, in input order, one per line. Reads and writes no database
rows, and streams JSON-Lines input so thousands of transcripts never sit in memory at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from coachhub.core.llm import LLMError, default_llm_config
from scoring.engines import ENGINE_NAMES, EngineUnavailable, get_engine, scoring_engines
from scoring.transcript import TranscriptError, transcript_from_dict


def iter_transcript_documents(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, decoded JSON) for each transcript in a JSON or JSON-Lines file.

    A file whose first non-blank line is a complete JSON value is JSON-Lines (a one-line JSON file
    is both, and reads the same either way); otherwise the whole file is one JSON document.
    """
    with path.open(encoding="utf-8") as handle:
        first_line_no, first_line = _first_non_blank(handle)
        if first_line is None:
            return
        try:
            first = json.loads(first_line)
        except json.JSONDecodeError:
            yield from _whole_file(path, first_line_no)
            return
        yield first_line_no, first
        for line_no, line in enumerate(handle, start=first_line_no + 1):
            if not line.strip():
                continue
            try:
                yield line_no, json.loads(line)
            except json.JSONDecodeError as exc:
                raise CommandError(f"line {line_no}: invalid JSON ({exc.msg} at column {exc.colno})") from exc


def _first_non_blank(handle: Any) -> tuple[int, str | None]:
    for line_no, line in enumerate(handle, start=1):
        if line.strip():
            return line_no, line
    return 0, None


def _whole_file(path: Path, start_line: int) -> Iterator[tuple[int, Any]]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise CommandError(f"line {exc.lineno}: invalid JSON ({exc.msg} at column {exc.colno})") from exc
    yield start_line, document


class Command(BaseCommand):
    help = "Score transcripts from a JSON or JSON-Lines file and print one JSON result per line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="a JSON transcript or a JSON-Lines file of transcripts")
        parser.add_argument("--engine", choices=ENGINE_NAMES, default="embedded", help="scoring engine")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            llm_config = default_llm_config() if scoring_engines.needs_llm(options["engine"]) else None
            engine = get_engine(options["engine"], llm_config=llm_config)
        except EngineUnavailable as exc:
            raise CommandError(str(exc)) from exc
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        for line_no, document in iter_transcript_documents(path):
            try:
                transcript = transcript_from_dict(document)
            except TranscriptError as exc:
                raise CommandError(f"line {line_no}: {exc}") from exc
            try:
                result = engine.score(transcript)
            except LLMError as exc:
                # One line naming the judge (its messages do), the stable code and the cause.
                detail = " ".join((exc.detail or "").split())[:300]
                raise CommandError(f"line {line_no}: {exc.message} ({exc.code}{': ' + detail if detail else ''})") from None
            self.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False))
