"""`manage.py score_transcript`: JSON and JSON-Lines input, one result per line, errors that point
at the line and field, and no database access (these tests hold no `db` mark, so any query fails)."""

from __future__ import annotations

import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from scoring.evaluation import load_cases
from scoring.transcript import transcript_to_dict

REPO = Path(__file__).resolve().parents[2]
CASES = load_cases()


def run(path: Path, *args: str) -> list[dict]:
    out = StringIO()
    call_command("score_transcript", str(path), *args, stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_single_pretty_printed_json_transcript(tmp_path):
    data = transcript_to_dict(CASES[0].transcript)
    path = tmp_path / "one.json"
    path.write_text(json.dumps(data, indent=2))
    [result] = run(path, "--engine", "embedded")
    assert set(result) == {"behaviors", "policies", "turns", "focus", "overall"}
    rep_turns = [i for i, turn in enumerate(data["turns"]) if turn["speaker"] == "rep"]
    assert [t["turn"] for t in result["turns"]] == rep_turns
    for behavior in result["behaviors"].values():
        for item in behavior["evidence"]:
            assert item["quote"] in data["turns"][item["turn"]]["text"]


def test_json_lines_keep_input_order_and_skip_blank_lines(tmp_path):
    chosen = CASES[:6]
    lines = [json.dumps(transcript_to_dict(case.transcript)) for case in chosen]
    path = tmp_path / "many.jsonl"
    path.write_text("\n" + "\n\n".join(lines) + "\n\n")
    results = run(path)
    assert len(results) == len(chosen)
    for case, result in zip(chosen, results, strict=True):
        assert len(result["policies"]) == len(case.transcript.scenario.policies)
        assert [t["turn"] for t in result["turns"]] == case.transcript.rep_turn_indices()


def test_thousands_of_transcripts_stream_in_one_run(tmp_path):
    line = json.dumps(transcript_to_dict(CASES[1].transcript))
    path = tmp_path / "bulk.jsonl"
    path.write_text("\n".join([line] * 2000))
    assert len(run(path)) == 2000


def test_bad_field_names_line_and_field(tmp_path):
    good = json.dumps(transcript_to_dict(CASES[0].transcript))
    bad = transcript_to_dict(CASES[0].transcript)
    bad["turns"][2]["speaker"] = "agent"
    path = tmp_path / "bad.jsonl"
    path.write_text(f"{good}\n\n{json.dumps(bad)}\n")
    with pytest.raises(CommandError, match=r"line 3: turns\[2\]\.speaker must be 'customer' or 'rep'"):
        run(path)


def test_invalid_json_line_is_reported(tmp_path):
    path = tmp_path / "broken.jsonl"
    path.write_text(json.dumps(transcript_to_dict(CASES[0].transcript)) + "\n{not json\n")
    with pytest.raises(CommandError, match=r"line 2: invalid JSON"):
        run(path)


def test_llm_engine_without_an_endpoint_says_how_to_configure_one(tmp_path, settings):
    settings.LLM_BASE_URL = ""
    path = tmp_path / "one.json"
    path.write_text(json.dumps(transcript_to_dict(CASES[0].transcript)))
    with pytest.raises(CommandError, match="No LLM endpoint is configured: set LLM_BASE_URL or the tenant's AI settings"):
        run(path, "--engine", "llm")


def test_missing_file_is_a_command_error(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        run(tmp_path / "absent.json")


def test_bench_prints_throughput():
    completed = subprocess.run(
        [sys.executable, str(REPO / "bench" / "bench_scoring.py"), "--seconds", "0.2"],
        capture_output=True, text=True, check=True, cwd=REPO,
    )  # fmt: skip
    assert "twenty-turn transcripts per second per core" in completed.stdout
