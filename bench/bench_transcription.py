"""Speed and accuracy of voice-turn transcription on espeak-ng clips of things reps say (~5-8 s each).

Prints cold model load time, then per configuration (beam size, VAD, container): real-time factor
(processing time / audio duration), p50/p95 processing time per clip and word error rate. Figures
only; there is no pass/fail here. Run: `.venv/bin/python bench/bench_transcription.py`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coachhub.settings.test")

import django  # noqa: E402

django.setup()

from django.test import override_settings  # noqa: E402

from sessions.voice import get_model, transcribe  # noqa: E402
from tests.sessions.audio import REP_LINES, normalize_for_wer, reencode, speak, word_error_rate  # noqa: E402

# The tests' six lines plus more things reps say, so a word error rate compares configurations on
# some 300 words rather than 100.
BENCH_LINES = [
    *REP_LINES,
    "I hear you, and I would be upset too if my internet went down during a meeting.",
    "Our policy is to refund within thirty days, because that is when the courier confirms the return.",
    "I can't change the delivery date myself, but I can escalate it to the depot supervisor right now.",
    "Can you tell me which item was missing from the box when it arrived on Monday?",
    "I've issued a credit of twenty dollars to your account, and you will see it on your next bill.",
    "Just so I have this right, the technician never arrived and nobody called you to explain.",
    "I'm going to stay on this with you until it is fixed. You won't have to explain it again.",
    "The engineer can visit on Thursday between nine and twelve. Does that time work for you?",
    "I understand this is the third time you have called about it, and I am sorry we let you down.",
    "Let me check the account history so I can see exactly what happened with the last payment.",
    "You will get an email confirmation in the next ten minutes with the reference number.",
    "I can offer you a full refund or a replacement sent by express courier. Which would you prefer?",
]


@dataclass(frozen=True)
class Clip:
    reference: str
    audio: bytes


@dataclass(frozen=True)
class Figures:
    audio_s: float
    processing_s: list[float]
    errors: float  # word errors summed over clips (WER x reference words)
    reference_words: int
    hypotheses: list[str]


def clips(*, words_per_minute: int, container: str) -> list[Clip]:
    wavs = [speak(line, words_per_minute=words_per_minute) for line in BENCH_LINES]
    if container != "wav":
        wavs = [reencode(wav, container) for wav in wavs]
    return [Clip(line, audio) for line, audio in zip(BENCH_LINES, wavs, strict=True)]


def measure(clip_set: list[Clip], *, repeat: int) -> Figures:
    audio_s, processing_s, errors, reference_words, hypotheses = 0.0, [], 0.0, 0, []
    for clip in clip_set:
        for attempt in range(repeat):
            result = transcribe(clip.audio)
            processing_s.append(result.processing_s)
            audio_s += result.duration_s
            if attempt == 0:
                words = len(normalize_for_wer(clip.reference))
                errors += word_error_rate(clip.reference, result.text) * words
                reference_words += words
                hypotheses.append(result.text)
    return Figures(audio_s, processing_s, errors, reference_words, hypotheses)


def report(label: str, figures: Figures) -> None:
    p50, p95 = np.percentile(figures.processing_s, [50, 95])
    rtf = sum(figures.processing_s) / figures.audio_s
    wer = figures.errors / figures.reference_words
    print(f"{label:<34} RTF {rtf:6.3f}   p50 {p50:5.2f} s   p95 {p95:5.2f} s   WER {wer:5.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2, help="transcriptions of each clip per configuration")
    parser.add_argument("--rate", type=int, default=150, help="espeak-ng words per minute")
    parser.add_argument("--show-text", action="store_true", help="print each hypothesis under its reference")
    args = parser.parse_args()

    started = time.perf_counter()
    import faster_whisper  # noqa: F401  (timed apart from the load: the import is paid once per worker too)

    imported = time.perf_counter()
    get_model()
    loaded = time.perf_counter()
    print(
        f"cold start: import faster_whisper {imported - started:.2f} s, load tiny.en int8 {loaded - imported:.2f} s"
    )
    print(f"cpu cores: {os.cpu_count()}   clips: {len(BENCH_LINES)} at {args.rate} wpm   repeat: {args.repeat}")

    wav_clips = clips(words_per_minute=args.rate, container="wav")
    transcribe(wav_clips[0].audio)  # first call warms caches; cold load is reported above
    durations = [transcribe(clip.audio).duration_s for clip in wav_clips]
    print(f"clip durations: {min(durations):.1f}-{max(durations):.1f} s (total {sum(durations):.1f} s)\n")

    for beam_size in (1, 2, 3, 5):
        for vad in (True, False):
            with override_settings(TRANSCRIPTION_BEAM_SIZE=beam_size, TRANSCRIPTION_VAD=vad):
                figures = measure(wav_clips, repeat=args.repeat)
            report(f"wav  beam={beam_size} vad={'on' if vad else 'off'}", figures)
            if args.show_text and beam_size == 5 and vad:
                for clip, text in zip(wav_clips, figures.hypotheses, strict=True):
                    print(f"    ref: {clip.reference}\n    hyp: {text}")
    for container in ("webm", "ogg", "mp4"):
        report(
            f"{container} (defaults)",
            measure(clips(words_per_minute=args.rate, container=container), repeat=1),
        )


if __name__ == "__main__":
    main()
