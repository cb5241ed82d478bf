"""Real speech for transcription tests and benchmarks: espeak-ng voices, the containers browsers
record (WebM/Opus, Ogg/Opus, MP4/AAC) and a word error rate that reads "3" and "three" alike."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tempfile
import wave
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

# Things a customer-service rep says, with the numbers, times and contractions that trip up WER.
REP_LINES = [
    "I'm sorry the order arrived late. I will call the warehouse and update you by three o'clock today.",
    "Thank you for your patience. I can see your refund was approved and it should reach your card in five days.",
    "Let me make sure I understand. You were charged twice for the same order, is that right?",
    "I completely understand why you are frustrated. Here is what I am going to do to fix this for you.",
    "Your replacement ships tomorrow morning, and I have added free express delivery to the order.",
    "Could you please confirm the email address on the account so I can send the tracking number?",
]


class EspeakMissing(RuntimeError):
    """Speech tests need espeak-ng; CI installs it, so a missing binary is a broken setup, not a skip."""


def speak(text: str, *, words_per_minute: int = 150, voice: str = "en-us", ssml: bool = False) -> bytes:
    """WAV bytes (22.05 kHz mono) of espeak-ng reading `text`. With ssml=True, `<break time="1s"/>`
    inserts silence, which is how pause tests make pauses of a known length."""
    binary = shutil.which("espeak-ng")
    if binary is None:
        raise EspeakMissing(
            "espeak-ng is not installed, so speech can't be synthesized for the transcription tests. "
            "Install it (Debian/Ubuntu: apt-get install espeak-ng) and run the tests again."
        )
    with tempfile.TemporaryDirectory() as workdir:
        out = Path(workdir) / "speech.wav"
        command = [binary, "-v", voice, "-s", str(words_per_minute), "-w", str(out)]
        if ssml:
            command.append("-m")
        subprocess.run([*command, text], check=True, capture_output=True, timeout=60)
        return out.read_bytes()


def silence_wav(seconds: float, *, sample_rate: int = 16_000) -> bytes:
    """A WAV of digital silence, for "too long", "too short" and "no speech" cases."""
    return pcm_wav(np.zeros(int(seconds * sample_rate), dtype=np.int16), sample_rate=sample_rate)


def pcm_wav(samples: np.ndarray, *, sample_rate: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(samples.astype(np.int16).tobytes())
    return buffer.getvalue()


def read_wav(wav_bytes: bytes) -> tuple[np.ndarray, int]:
    with wave.open(io.BytesIO(wav_bytes)) as wav:
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16), wav.getframerate()


def reencode(wav_bytes: bytes, container: str) -> bytes:
    """The WAV re-encoded as a browser would record it: "webm" (Chrome/Firefox, Opus, muxed as a live
    stream so, like MediaRecorder's output, it has no duration in its header), "ogg" (Firefox, Opus)
    or "mp4" (Safari, AAC)."""
    codec, rate, options = {
        "webm": ("libopus", 48_000, {"live": "1"}),
        "ogg": ("libopus", 48_000, {}),
        "mp4": ("aac", 48_000, {}),
    }[container]
    samples, source_rate = read_wav(wav_bytes)
    source = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
    source.sample_rate = source_rate
    source.time_base = Fraction(1, source_rate)
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container, options=options) as media:
        stream = media.add_stream(codec, rate=rate, layout="mono")
        resampler = av.AudioResampler(format=stream.codec_context.format.name, layout="mono", rate=rate)
        fifo = av.AudioFifo()  # encoders take fixed-size frames (960 for Opus, 1024 for AAC)
        for frame in [*resampler.resample(source), *resampler.resample(None)]:
            fifo.write(frame)
        frame_size = stream.codec_context.frame_size or 960
        for frame in fifo.read_many(frame_size, partial=True):
            media.mux(stream.encode(frame))
        media.mux(stream.encode(None))
    return buffer.getvalue()


# --- word error rate -------------------------------------------------------------------------------

_ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()  # noqa: E501
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SPELLING = {"ok": "okay", "mr": "mister", "mrs": "missus", "dr": "doctor"}


def number_words(number: int) -> str:
    """English words for 0-999999 ("21" -> "twenty one"), hyphens dropped to match split words."""
    if number < 20:
        return _ONES[number]
    if number < 100:
        tens, ones = divmod(number, 10)
        return _TENS[tens] + (f" {_ONES[ones]}" if ones else "")
    if number < 1000:
        hundreds, rest = divmod(number, 100)
        return f"{_ONES[hundreds]} hundred" + (f" {number_words(rest)}" if rest else "")
    thousands, rest = divmod(number, 1000)
    return f"{number_words(thousands)} thousand" + (f" {number_words(rest)}" if rest else "")


def normalize_for_wer(text: str) -> list[str]:
    """Words compared by WER: lower case, no punctuation, digits spelled out, "3:00" as "three o'clock",
    "$5" as "five dollars", "%" as "percent", apostrophes dropped ("I'm" and "im" match), hyphens split.

    Both sides go through this, so a reference written with words and a hypothesis with digits agree.
    """
    text = text.lower().replace("’", "'")
    text = re.sub(r"\b(\d{1,2}):00\b", r"\1 oclock", text)
    text = re.sub(r"\b(\d{1,2}):(\d{2})\b", r"\1 \2", text)
    text = re.sub(r"\$(\d+)", r"\1 dollars", text)
    text = re.sub(r"(\d)%", r"\1 percent", text)
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)
    text = re.sub(r"\d+", lambda match: f" {number_words(int(match.group()))} ", text)
    text = text.replace("'", "").replace("-", " ")
    words = re.sub(r"[^a-z0-9 ]+", " ", text).split()
    return [_SPELLING.get(word, word) for word in words]


def word_error_rate(reference: str, hypothesis: str) -> float:
    """(substitutions + deletions + insertions) / reference words, by word-level edit distance."""
    ref, hyp = normalize_for_wer(reference), normalize_for_wer(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    previous = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, start=1):
        current = [i]
        for j, hyp_word in enumerate(hyp, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref_word != hyp_word)))
        previous = current
    return previous[-1] / len(ref)
