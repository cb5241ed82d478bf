"""faster-whisper failing on a voice turn, through the runner's voice endpoint: the rep is told what
happened and what to do, nothing of the turn is stored (no line, no audio), the session goes on by
text, and the same recording goes through once the fault clears.

Real faults, no mocks: a model directory without a model, one whose model.bin is not a model, and
the real engine raising on a recording (a beam size CTranslate2 rejects mid-generation).
"""

from __future__ import annotations

import shutil
from functools import cache
from pathlib import Path

import pytest
from django.test import Client, override_settings

from coachhub.tenancy.context import tenant_context
from sessions.models import PracticeSession, Turn
from sessions.voice import TranscriptionUnavailable, resolve_model_path
from tests.sessions.audio import speak
from tests.sessions.helpers import publish_library_scenario, read_events

pytestmark = pytest.mark.django_db

LINE = "I'm sorry the suit arrived in the wrong size. I will ship the right one today."


@cache
def recording() -> bytes:
    return speak(LINE)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def _start_voice_session(client: Client, world) -> int:
    version = publish_library_scenario(world.tenant)
    response = client.post(f"/t/{world.tenant.slug}/sessions/start/", {"version_id": version.id, "mode": "voice"})
    assert response.status_code == 302, response.content
    return int(response["Location"].rstrip("/").split("/")[-1])


def _speak_turn(client: Client, world, session_id: int):
    from django.core.files.uploadedfile import SimpleUploadedFile

    audio = SimpleUploadedFile("turn.wav", recording(), content_type="audio/wav")
    response = client.post(f"/t/{world.tenant.slug}/sessions/{session_id}/voice/", {"audio": audio})
    return response, read_events(response)


def _transcript(world, session_id: int) -> list[tuple[int, str, str, bool]]:
    with tenant_context(world.tenant):
        return [
            (turn.index, turn.speaker, turn.text, bool(turn.audio))
            for turn in Turn.objects.for_tenant(world.tenant).filter(session_id=session_id).order_by("index")
        ]


def _stored_audio(media_root: Path) -> list[Path]:
    return [path for path in media_root.rglob("*") if path.is_file()] if media_root.exists() else []


def _assert_untouched(world, session_id: int, before, media_root: Path) -> None:
    assert _transcript(world, session_id) == before, "a failed transcription changed the transcript"
    assert _stored_audio(media_root) == [], "a failed transcription left its audio behind"
    with tenant_context(world.tenant):
        assert PracticeSession.objects.for_tenant(world.tenant).get(id=session_id).status == "active"


def _corrupt_model_dir(tmp_path: Path) -> Path:
    """A model directory with the packaged model's config and tokenizer but a model.bin that isn't one."""
    packaged = Path(resolve_model_path(""))
    broken = tmp_path / "broken-model"
    broken.mkdir()
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        if (packaged / name).exists():
            shutil.copy(packaged / name, broken / name)
    (broken / "model.bin").write_bytes(b"this is not a CTranslate2 model\n" * 64)
    return broken


FAULTS = {
    # name: (settings that break transcription, status, code, words the rep must read)
    "model directory is empty": (lambda tmp: {"TRANSCRIPTION_MODEL": str(tmp / "empty-model")}, 503,
                                 "transcription_unavailable", TranscriptionUnavailable.FOR_THE_REP),
    "model.bin is not a model": (lambda tmp: {"TRANSCRIPTION_MODEL": str(_corrupt_model_dir(tmp))}, 503,
                                 "transcription_unavailable", TranscriptionUnavailable.FOR_THE_REP),
    "engine fails on the recording": (lambda tmp: {"TRANSCRIPTION_BEAM_SIZE": 0}, 500,
                                      "transcription_failed", "Please record your answer again."),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_failing_speech_engine_keeps_the_session_and_it_goes_on_by_text_then_by_voice(
    fault, world_a, client_for, tmp_path, media_root
):
    breaks, status, code, words = FAULTS[fault]
    (tmp_path / "empty-model").mkdir()
    rep = client_for(world_a.member("rep"))
    session_id = _start_voice_session(rep, world_a)
    before = _transcript(world_a, session_id)
    assert [speaker for _, speaker, _, _ in before] == ["customer"]

    with override_settings(**breaks(tmp_path)):  # one fault per test
        response, events = _speak_turn(rep, world_a, session_id)

    assert response.status_code == status
    assert [kind for kind, _ in events] == ["error"]
    assert events[0][1]["code"] == code
    assert words in events[0][1]["message"]
    _assert_untouched(world_a, session_id, before, media_root)

    # The rep carries on by text in the same session.
    typed = read_events(rep.post(f"/t/{world_a.tenant.slug}/sessions/{session_id}/turns/", {"text": "Sorry, typing now."}))
    assert [kind for kind, _ in typed][0] == "saved" and typed[-1][0] == "done", typed
    assert [(i, s, t) for i, s, t, _ in _transcript(world_a, session_id)][1] == (1, "rep", "Sorry, typing now.")

    # Once the fault clears, the same recording becomes the next turn, once, with its audio.
    response, events = _speak_turn(rep, world_a, session_id)
    kinds = [kind for kind, _ in events]
    assert response.status_code == 200 and kinds[:2] == ["transcript", "saved"] and kinds[-1] == "done", events
    transcript = _transcript(world_a, session_id)
    assert [(i, s) for i, s, _, _ in transcript] == [(0, "customer"), (1, "rep"), (2, "customer"), (3, "rep"),
                                                     (4, "customer")]
    heard = events[0][1]["text"]
    assert transcript[3][2:] == (heard, True) and len(heard.split()) >= 5, transcript[3]
    assert len(_stored_audio(media_root)) == 1
