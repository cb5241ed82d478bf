"""Throughput of the embedded behavior scorer: 20-turn transcripts scored per second on one core.

Prints figures only; there is no pass/fail here. Run: `.venv/bin/python bench/bench_scoring.py`.
By default the sentence encoder's cache is cleared before every transcript, as when rescoring a
tenant's history of text it has never seen; `--warm` measures repeated text instead.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from coachhub.core.encoder import get_encoder  # noqa: E402
from scoring.engines.embedded import EmbeddedScorer  # noqa: E402
from scoring.evaluation import load_cases  # noqa: E402
from scoring.transcript import Transcript  # noqa: E402

TURNS_PER_TRANSCRIPT = 20


def twenty_turn_transcripts() -> list[Transcript]:
    """20-turn transcripts of distinct lines: the eval set's turns laid end to end, cut every 20.

    No sentence repeats inside a transcript, so nothing is served twice from one encoder batch.
    """
    cases = load_cases()
    turns = [turn for case in cases for turn in case.transcript.turns]
    transcripts = []
    for start in range(0, len(turns) - TURNS_PER_TRANSCRIPT + 1, TURNS_PER_TRANSCRIPT):
        scenario = cases[(start // TURNS_PER_TRANSCRIPT) % len(cases)].transcript.scenario
        transcripts.append(
            Transcript(scenario=scenario, turns=tuple(turns[start : start + TURNS_PER_TRANSCRIPT]))
        )
    return transcripts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0, help="how long to keep scoring")
    parser.add_argument("--warm", action="store_true", help="keep the encoder's sentence cache")
    args = parser.parse_args()
    encoder = get_encoder()
    scorer = EmbeddedScorer()
    transcripts = twenty_turn_transcripts()
    scorer.score(transcripts[0])  # first call pays for regex compilation caches
    scored = 0
    started = time.process_time()
    deadline = time.perf_counter() + args.seconds
    while time.perf_counter() < deadline:
        for transcript in transcripts:
            if not args.warm:
                encoder.clear_cache()
            scorer.score(transcript).to_dict()
        scored += len(transcripts)
    cpu_seconds = time.process_time() - started
    rate = scored / cpu_seconds if cpu_seconds else float("inf")
    cache = "warm encoder cache" if args.warm else "cold encoder cache"
    print(
        f"embedded scorer {scorer.version}: {scored} transcripts of {TURNS_PER_TRANSCRIPT} turns in "
        f"{cpu_seconds:.2f} CPU s ({cache})"
    )
    print(f"throughput: {rate:.1f} twenty-turn transcripts per second per core")
    print(f"latency: {1000 / rate:.2f} ms per transcript" if rate else "latency: n/a")


if __name__ == "__main__":
    main()
