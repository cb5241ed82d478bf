"""Voice turns: validate a browser recording, transcribe it offline with Whisper, measure delivery.

from sessions.voice import transcribe, AudioRejected, TranscriptionFailed, TranscriptionUnavailable
"""

from .audio import AudioRejected, DecodedAudio, detect_container, load_upload, max_bytes, max_seconds
from .delivery import Delivery, Fillers, Pauses, Word, analyze_delivery, count_fillers, count_pauses
from .transcribe import (
    NO_SPEECH_MESSAGE,
    Transcription,
    TranscriptionFailed,
    TranscriptionUnavailable,
    get_model,
    resolve_model_path,
    transcribe,
)

__all__ = [
    "NO_SPEECH_MESSAGE",
    "AudioRejected",
    "DecodedAudio",
    "Delivery",
    "Fillers",
    "Pauses",
    "Transcription",
    "TranscriptionFailed",
    "TranscriptionUnavailable",
    "Word",
    "analyze_delivery",
    "count_fillers",
    "count_pauses",
    "detect_container",
    "get_model",
    "load_upload",
    "max_bytes",
    "max_seconds",
    "resolve_model_path",
    "transcribe",
]
