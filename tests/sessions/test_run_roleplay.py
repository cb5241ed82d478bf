"""``manage.py run_roleplay``: JSON-lines transcripts of a scenario played from the terminal."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from scenarios.library import library_specs
from tests.sessions.scripts import DISMISSIVE_SCRIPT, SUPPORTIVE_SCRIPTS

SLUG = "wrong-suit-before-wedding"


def run(*args: str, stdin: str | None = None) -> tuple[list[dict[str, Any]], str]:
    """Every stdout line parsed as JSON (fails if any line isn't), plus stderr."""
    out, err = StringIO(), StringIO()
    extra = {"stdin": StringIO(stdin)} if stdin is not None else {}
    call_command("run_roleplay", *args, stdout=out, stderr=err, **extra)
    return [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


def write_script(tmp_path: Path, lines: list[str]) -> str:
    path = tmp_path / "rep.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def test_list_prints_the_starter_library():
    rows, _ = run("--list")

    assert rows == [{"slug": s.slug, "title": s.title, "moment": s.moment} for s in library_specs()]


def test_list_keeps_non_ascii_readable():
    out = StringIO()
    call_command("run_roleplay", "--list", stdout=out)

    assert "Café" in out.getvalue()


def test_scripted_supportive_run_prints_each_turn_then_resolved(tmp_path):
    script = write_script(tmp_path, SUPPORTIVE_SCRIPTS[SLUG])

    rows, _ = run("--scenario", SLUG, "--engine", "embedded", "--rep-script", script)

    *turns, last = rows
    assert last == {"end_reason": "resolved"}
    assert [row["turn"] for row in turns] == list(range(len(turns)))
    assert [row["speaker"] for row in turns] == ["customer", "rep"] * (len(turns) // 2) + ["customer"]
    assert [row["text"] for row in turns if row["speaker"] == "rep"] == SUPPORTIVE_SCRIPTS[SLUG]
    for row in turns:
        expected_keys = (
            {"turn", "speaker", "text", "frustration"}
            if row["speaker"] == "customer"
            else {"turn", "speaker", "text"}
        )
        assert set(row) == expected_keys
        if row["speaker"] == "customer":
            assert 0 <= row["frustration"] <= 100


def test_conversation_stops_at_escalation_even_with_script_left(tmp_path):
    script = write_script(tmp_path, DISMISSIVE_SCRIPT)

    rows, _ = run("--scenario", SLUG, "--rep-script", script)

    assert rows[-1] == {"end_reason": "escalated"}
    assert len([row for row in rows if row.get("speaker") == "rep"]) < len(DISMISSIVE_SCRIPT)


def test_script_running_out_ends_as_rep_ended(tmp_path):
    script = write_script(tmp_path, ["", "I'm sorry to hear that.", "   "])

    rows, _ = run("--scenario", SLUG, "--rep-script", script)

    assert rows[-1] == {"end_reason": "rep_ended"}
    assert [row["speaker"] for row in rows[:-1]] == ["customer", "rep", "customer"]


def test_same_seed_same_transcript_different_seed_different_words(tmp_path):
    script = write_script(tmp_path, SUPPORTIVE_SCRIPTS["washer-repair-third-delay"])
    args = ("--scenario", "washer-repair-third-delay", "--rep-script", script)

    first, _ = run(*args, "--seed", "5")
    again, _ = run(*args, "--seed", "5")
    others = [run(*args, "--seed", str(seed))[0] for seed in (6, 7, 8)]

    assert first == again
    assert any(other != first for other in others)


def test_interactive_reads_stdin_until_end_of_input():
    rows, err = run("--scenario", SLUG, stdin="I'm so sorry about the suit.\nWhat's your order number?\n")

    assert rows[-1] == {"end_reason": "rep_ended"}
    assert [row["text"] for row in rows if row.get("speaker") == "rep"] == [
        "I'm so sorry about the suit.",
        "What's your order number?",
    ]
    assert "SH-20417" in rows[-2]["text"]
    assert err.count("> ") == 3  # prompts go to stderr, never into the JSON on stdout


def test_unknown_scenario_names_the_slug():
    with pytest.raises(CommandError, match="no-such-slug"):
        run("--scenario", "no-such-slug")


def test_missing_script_names_the_file(tmp_path):
    missing = str(tmp_path / "nope.txt")

    with pytest.raises(CommandError, match="nope.txt"):
        run("--scenario", SLUG, "--rep-script", missing)


def test_llm_engine_without_an_endpoint_says_how_to_configure_one(settings):
    settings.LLM_BASE_URL = ""
    with pytest.raises(CommandError, match="LLM_BASE_URL"):
        run("--scenario", SLUG, "--engine", "llm")


def test_nothing_to_do_says_what_to_pass():
    with pytest.raises(CommandError, match="--list"):
        run()


# --- LLM failures in the terminal: one clear line, non-zero exit, never a traceback ---------------


def _llm_env(base_url: str, **extra: str) -> dict[str, str]:
    return {"LLM_BASE_URL": base_url, "LLM_MAX_RETRIES": "0", "LLM_ALLOW_PRIVATE_ENDPOINTS": "1", **extra}


def test_llm_customer_down_is_one_line_and_a_non_zero_exit(tmp_path):
    from tests.support.commands import closed_port, error_lines, run_manage

    script = write_script(tmp_path, ["I'm so sorry about the suit."])
    result = run_manage(
        "run_roleplay", "--scenario", SLUG, "--engine", "llm", "--rep-script", script,
        env=_llm_env(f"http://127.0.0.1:{closed_port()}/v1"),
    )

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    (line,) = error_lines(result.stderr)
    assert "LLM customer can't be reached (llm_unavailable)" in line
    rows = [json.loads(row) for row in result.stdout.splitlines()]  # what was printed stays valid JSON
    assert rows[0]["speaker"] == "customer" and rows[1]["speaker"] == "rep"


def test_llm_customer_timeout_is_one_line_naming_the_timeout(tmp_path, openai_server):
    from tests.support.commands import error_lines, run_manage
    from tests.support.openai_server import delay

    openai_server.script(delay(3), delay(3))
    script = write_script(tmp_path, ["I'm so sorry about the suit."])
    result = run_manage(
        "run_roleplay", "--scenario", SLUG, "--engine", "llm", "--rep-script", script,
        env=_llm_env(openai_server.base_url, LLM_TIMEOUT_S="0.3"),
    )

    assert result.returncode != 0 and "Traceback" not in result.stderr
    (line,) = error_lines(result.stderr)
    assert "LLM customer took too long to answer (llm_timeout)" in line
