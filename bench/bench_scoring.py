"""Throughput of the embedded behavior scorer: 20-turn transcripts scored per second on one core.

Prints figures only; there is no pass/fail here. Run: `.venv/bin/python bench/bench_scoring.py`.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scoring.engines.embedded import EmbeddedScorer  # noqa: E402
from scoring.evaluation import load_cases  # noqa: E402
from scoring.transcript import Transcript, Turn  # noqa: E402

TURNS_PER_TRANSCRIPT = 20


def twenty_turn_transcripts() -> list[Transcript]:
    """Every eval scenario stretched to exactly 20 turns by cycling its conversation."""
    transcripts = []
    for case in load_cases():
        turns: list[Turn] = list(
            itertools.islice(itertools.cycle(case.transcript.turns), TURNS_PER_TRANSCRIPT)
        )
        transcripts.append(Transcript(scenario=case.transcript.scenario, turns=tuple(turns)))
    return transcripts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0, help="how long to keep scoring")
    args = parser.parse_args()
    scorer = EmbeddedScorer()
    transcripts = twenty_turn_transcripts()
    scorer.score(transcripts[0])  # first call pays for regex compilation caches
    scored = 0
    started = time.process_time()
    deadline = time.perf_counter() + args.seconds
    while time.perf_counter() < deadline:
        for transcript in transcripts:
            scorer.score(transcript).to_dict()
        scored += len(transcripts)
    cpu_seconds = time.process_time() - started
    rate = scored / cpu_seconds if cpu_seconds else float("inf")
    print(
        f"embedded scorer {scorer.version}: {scored} transcripts of {TURNS_PER_TRANSCRIPT} turns in {cpu_seconds:.2f} CPU s"
    )
    print(f"throughput: {rate:.0f} twenty-turn transcripts per second per core")
    print(f"latency: {1000 / rate:.2f} ms per transcript" if rate else "latency: n/a")


if __name__ == "__main__":
    main()
