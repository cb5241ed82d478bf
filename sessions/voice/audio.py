"""Upload checks for recorded rep turns: what the bytes really are, whether they decode, and how long
they last, so bad uploads are refused with a stable code before any model time is spent."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

import av
import numpy as np
from django.conf import settings

from coachhub.core.errors import ApplicationError

SAMPLE_RATE = 16_000  # what Whisper expects; every upload is resampled to mono at this rate
MIN_SECONDS = 0.3
DEFAULT_MAX_BYTES = 10_000_000  # 10 MB as people read it, so the message says "10 MB"
DEFAULT_MAX_SECONDS = 120.0

SUPPORTED_FORMATS_TEXT = "WAV, WebM, Ogg, MP4/M4A or MP3"

# Signatures of things people upload by mistake, only to name them in the rejection message.
_KNOWN_NOT_AUDIO: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x7fELF", "a program file"),
)

_CONTAINER_NAMES = {"wav": "WAV", "webm": "WebM", "ogg": "Ogg", "mp4": "MP4", "mp3": "MP3"}
_HTTP_STATUS = {"audio_too_large": 413, "audio_unsupported_type": 415}


class AudioRejected(ApplicationError):
    """The upload can't be transcribed; `code` is stable for clients, `message` is for the rep."""

    def __init__(self, code: str, message: str):
        super().__init__(message, code=code, status_code=_HTTP_STATUS.get(code, 400))


@dataclass(frozen=True)
class DecodedAudio:
    """A validated upload as 16 kHz mono float32 samples, ready for the model."""

    container: str
    samples: np.ndarray
    duration_s: float


def max_bytes() -> int:
    return int(getattr(settings, "AUDIO_MAX_BYTES", DEFAULT_MAX_BYTES))


def max_seconds() -> float:
    return float(getattr(settings, "AUDIO_MAX_SECONDS", DEFAULT_MAX_SECONDS))


def detect_container(head: bytes) -> str | None:
    """The container named by the file's magic bytes, or None.

    The browser's declared content type and the file name are not trusted: Safari and Chrome disagree
    on both, and anyone can send anything. MediaRecorder produces WebM (Chrome/Firefox), Ogg (Firefox),
    MP4 (Safari) or, through recorder shims, WAV; MP3 is accepted for uploaded files.
    """
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"  # EBML header: WebM or Matroska
    if head[:4] == b"OggS":
        return "ogg"
    if head[4:8] == b"ftyp":
        return "mp4"
    if head[:3] == b"ID3" or _is_mp3_frame_sync(head):
        return "mp3"
    return None


def _is_mp3_frame_sync(head: bytes) -> bool:
    """An MPEG audio frame header: 11 sync bits, a valid version and a layer that isn't reserved.

    Rejecting layer 00 keeps raw ADTS AAC (also 0xFFF…) out; browsers never record that.
    """
    if len(head) < 2 or head[0] != 0xFF or (head[1] & 0xE0) != 0xE0:
        return False
    version = (head[1] >> 3) & 0b11
    layer = (head[1] >> 1) & 0b11
    return version != 0b01 and layer != 0b00


def describe_unknown(head: bytes) -> str:
    """Words for what an unsupported upload looks like, for the rejection message."""
    for signature, name in _KNOWN_NOT_AUDIO:
        if head.startswith(signature):
            return name
    stripped = head.lstrip()
    if stripped[:1] in (b"<", b"{", b"[") or stripped[:5].lower() == b"<!doc":
        return "a text or web document"
    return "an unrecognised file"


def load_upload(audio_bytes: bytes) -> DecodedAudio:
    """Check an upload in the order that costs least first, then decode it to model-ready samples.

    Raises AudioRejected with one of: audio_empty, audio_too_large, audio_unsupported_type,
    audio_unreadable, audio_too_long, audio_too_short.
    """
    if not audio_bytes:
        raise AudioRejected("audio_empty", "The recording was empty. Record your answer and try again.")
    limit = max_bytes()
    if len(audio_bytes) > limit:
        raise AudioRejected(
            "audio_too_large",
            f"The recording is {len(audio_bytes) / 1_000_000:.1f} MB; the limit is {limit / 1_000_000:g} MB.",
        )
    container = detect_container(audio_bytes[:16])
    if container is None:
        raise AudioRejected(
            "audio_unsupported_type",
            f"This file looks like {describe_unknown(audio_bytes[:16])}, not a recording. "
            f"Upload {SUPPORTED_FORMATS_TEXT} audio.",
        )
    samples = _decode(audio_bytes, container=container, stop_after_s=max_seconds())
    duration_s = len(samples) / SAMPLE_RATE
    _check_duration(duration_s)
    return DecodedAudio(container=container, samples=samples, duration_s=duration_s)


def _check_duration(duration_s: float) -> None:
    if duration_s == 0:
        raise AudioRejected(
            "audio_empty", "The recording has no sound in it. Check your microphone and try again."
        )
    if duration_s < MIN_SECONDS:
        raise AudioRejected(
            "audio_too_short",
            f"The recording is only {duration_s:.2f} s long. Hold the button while you speak and try again.",
        )
    limit = max_seconds()
    if duration_s > limit:
        raise AudioRejected(
            "audio_too_long",
            f"The recording is longer than {limit:g} seconds. Keep each answer under {limit:g} seconds.",
        )


def _decode(audio_bytes: bytes, *, container: str, stop_after_s: float) -> np.ndarray:
    """Decode every audio frame to 16 kHz mono float32, stopping just past the length limit.

    The duration comes from the samples, not the header: MediaRecorder's WebM has no duration
    element. Stopping early bounds the work a long (but small, e.g. low-bitrate Opus) file can cause.
    Frames that fail to decode are skipped, as FFmpeg does, so a recording cut short by a dropped
    connection still yields what arrived; a file that yields nothing and errored is unreadable.
    """
    stop_after_samples = int((stop_after_s + 1) * SAMPLE_RATE)
    chunks: list[np.ndarray] = []
    collected = 0
    decode_failed = False
    try:
        with av.open(io.BytesIO(audio_bytes), mode="r", metadata_errors="ignore", **_open_options(container)) as media:
            if not media.streams.audio:
                raise AudioRejected(
                    "audio_empty",
                    f"The {_CONTAINER_NAMES[container]} file has no audio track. Record with your microphone on.",
                )
            resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
            for chunk, had_error in _resampled_chunks(media, resampler):
                decode_failed = decode_failed or had_error
                if chunk is None:
                    continue
                chunks.append(chunk)
                collected += len(chunk)
                if collected > stop_after_samples:
                    break
    except av.FFmpegError as exc:
        raise _unreadable(container) from exc
    # No gc.collect() here, unlike faster-whisper's decode_audio (#390): with PyAV 18, 300 decodes in a
    # row keep RSS flat without it, and a full collection costs ~45 ms per upload in a Django process.
    if decode_failed and collected == 0:
        raise _unreadable(container)
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)


def _open_options(container: str) -> dict:
    """A WAV header states everything FFmpeg needs, but its default probe reads up to 5 MB of the
    samples first (~15-20 ms per upload, most of the decode); the other containers probe in under a
    millisecond and keep FFmpeg's defaults."""
    return {"format": "wav", "options": {"probesize": "32"}} if container == "wav" else {}


def _unreadable(container: str) -> AudioRejected:
    return AudioRejected(
        "audio_unreadable",
        f"The {_CONTAINER_NAMES[container]} recording is damaged or incomplete and can't be played back. "
        "Record it again.",
    )


def _resampled_chunks(
    media: av.container.InputContainer, resampler: av.AudioResampler
) -> Iterator[tuple[np.ndarray | None, bool]]:
    """(mono float32 samples or None, whether a frame failed to decode) for each decoded frame, then
    the resampler's tail."""
    frames = media.decode(audio=0)
    while True:
        try:
            frame = next(frames)
        except StopIteration:
            break
        except av.error.InvalidDataError:
            yield None, True
            continue
        yield _to_samples(resampler.resample(frame)), False
    yield _to_samples(resampler.resample(None)), False


def _to_samples(frames: list[av.AudioFrame]) -> np.ndarray | None:
    if not frames:
        return None
    return np.concatenate([frame.to_ndarray().reshape(-1) for frame in frames]).astype(np.float32, copy=False)
