"""Throughput of the embedded behavior scorer: 20-turn transcripts scored per second on one core.

Prints figures only; there is no pass/fail here. Run: `.venv/bin/python bench/bench_scoring.py`.
By default the sentence encoder's cache is cleared before every transcript, as when rescoring a
tenant's history of text it has never seen; `--warm` measures repeated text instead. `--plain-graph`
runs the model package's graph as exported instead of the fused rewrite (for A/B runs); `--drift`
prints how far the fused graph's vectors are from the plain graph's instead of timing anything.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from coachhub.core.encoder import SentenceEncoder, get_encoder, model_path  # noqa: E402
from scoring.engines.embedded import EmbeddedScorer  # noqa: E402
from scoring.engines.signals import split_sentences  # noqa: E402
from scoring.evaluation import load_cases  # noqa: E402
from scoring.public_eval import annomi_pairs, epitome_items  # noqa: E402
from scoring.transcript import Transcript  # noqa: E402

TURNS_PER_TRANSCRIPT = 20
PUBLIC = Path(__file__).resolve().parents[2] / "shared" / "eval" / "public"
PUBLIC_SAMPLE = 2_000


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


def drift_texts() -> dict[str, list[str]]:
    """Every turn of the eval set, whole and by sentence, and a fixed sample of public dev lines."""
    cases = [turn.text for case in load_cases() for turn in case.transcript.turns]
    texts = {"eval set": _with_sentences(cases)}
    if PUBLIC.is_dir():
        lines = [line for item in epitome_items(PUBLIC) for line in (item.customer, item.rep)]
        lines += [line for customer, rep, _ in annomi_pairs(PUBLIC) for line in (customer, rep)]
        sample = random.Random(14).sample(sorted(set(lines)), PUBLIC_SAMPLE)
        texts[f"{PUBLIC_SAMPLE} public dev lines"] = _with_sentences(sample)
    return texts


def _with_sentences(lines: list[str]) -> list[str]:
    pieces = [piece for line in lines for piece in [line, *(s.text for s in split_sentences(line))]]
    return list(dict.fromkeys(piece for piece in pieces if piece.strip()))


def print_drift() -> None:
    plain = SentenceEncoder(model_path(), fused=False)
    fused = SentenceEncoder(model_path(), fused=True)
    print(f"fused graph in use: {fused.graph == 'fused'}")
    for name, texts in drift_texts().items():
        before, after = plain.encode(texts), fused.encode(texts)
        cosine = np.einsum("ij,ij->i", before, after)
        fused.clear_cache()
        again = fused.encode(texts)
        print(
            f"{name}: {len(texts)} texts, cosine fused vs plain min {cosine.min():.7f} "
            f"mean {cosine.mean():.7f}; max |difference| {np.abs(before - after).max():.2e}; "
            f"same vectors when encoded again: {np.array_equal(after, again)}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0, help="CPU seconds to keep scoring")
    parser.add_argument("--warm", action="store_true", help="keep the encoder's sentence cache")
    parser.add_argument("--plain-graph", action="store_true", help="the package's graph, not the fused one")
    parser.add_argument("--drift", action="store_true", help="compare fused and plain vectors, no timing")
    args = parser.parse_args()
    if args.drift:
        print_drift()
        return
    if args.plain_graph:  # read when the process-wide encoder loads, just below
        os.environ["COACHHUB_ENCODER_GRAPH"] = "plain"
    encoder = get_encoder()
    scorer = EmbeddedScorer()
    transcripts = twenty_turn_transcripts()
    scorer.score(transcripts[0])  # first call pays for regex compilation caches
    if args.warm:  # warm means every sentence seen before, not a first pass counted in the figure
        for transcript in transcripts:
            scorer.score(transcript)
    scored = 0
    started = time.process_time()
    # A CPU-time budget, not a wall-clock one: on a loaded machine the same run still covers the
    # same number of passes over the transcripts.
    while time.process_time() - started < args.seconds:
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
        f"{cpu_seconds:.2f} CPU s ({cache}, {encoder.graph} graph, load average {os.getloadavg()[0]:.1f})"
    )
    print(f"throughput: {rate:.1f} twenty-turn transcripts per second per core")
    print(f"latency: {1000 / rate:.2f} ms per transcript" if rate else "latency: n/a")


if __name__ == "__main__":
    main()
