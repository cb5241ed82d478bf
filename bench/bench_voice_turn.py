"""A voice turn end to end: upload an espeak-ng recording of a rep line to CoachHub (uvicorn,
PostgreSQL via PgBouncer), which checks it, transcribes it with faster-whisper and streams the
embedded customer's reply. Prints p50/p95 of upload → `done`, and the transcription share.

    .venv/bin/python bench/bench_voice_turn.py [--runs 12]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._server import login_cookies, percentile, seed_reps, served_app, setup_django  # noqa: E402

LINES = [
    "I am so sorry the app kept sending you back to the menu. Let me cancel that for you right now.",
    "Can you confirm the email address on your account so I can find your plan?",
    "I will skip Thursday's box and refund it, and you will get the confirmation email within the hour.",
]


def speech(text: str) -> bytes:
    with tempfile.NamedTemporaryFile(suffix=".wav") as handle:
        subprocess.run(["espeak-ng", "-s", "160", "-w", handle.name, text], check=True)
        return Path(handle.name).read_bytes()


async def run(base: str, version_id: int, cookies: dict, clips: list[bytes], runs: int):
    import httpx

    headers = {"X-CSRFToken": cookies["csrftoken"], "Referer": base}
    totals, transcription = [], []
    async with httpx.AsyncClient(timeout=60, cookies=cookies) as client:
        for i in range(runs):
            start = await client.post(
                f"{base}/t/bench/sessions/start/", data={"version_id": version_id, "mode": "voice"}, headers=headers
            )
            url = start.headers["location"]
            t0 = time.perf_counter()
            body = ""
            files = {"audio": ("turn.wav", clips[i % len(clips)], "audio/wav")}
            async with client.stream("POST", f"{base}{url}voice/", files=files, headers=headers) as response:
                async for chunk in response.aiter_text():
                    body += chunk
            totals.append((time.perf_counter() - t0) * 1000)
            if "event: done" not in body:
                raise RuntimeError(body[:500])
            data = json.loads(body.split("event: transcript\ndata: ", 1)[1].split("\n", 1)[0])
            transcription.append(data["delivery"]["transcription_s"] * 1000)
    return totals, transcription


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=12)
    args = parser.parse_args()
    setup_django()
    from django.contrib.auth import get_user_model

    _, version, reps = seed_reps(1)
    cookies = login_cookies(get_user_model().objects.get(pk=reps[0].user_id))
    clips = [speech(line) for line in LINES]
    with served_app(workers=1) as base:
        asyncio.run(run(base, version.id, cookies, clips, 2))  # warm up: loads the model once
        totals, transcription = asyncio.run(run(base, version.id, cookies, clips, args.runs))
    print("Voice turn end to end (espeak-ng clips of ~5 s, tiny.en int8, embedded customer, loopback)")
    print(f"  upload → reply done      p50={percentile(totals, 50):7.1f} ms  p95={percentile(totals, 95):7.1f} ms")
    print(f"  of which transcription   p50={percentile(transcription, 50):7.1f} ms  p95={percentile(transcription, 95):7.1f} ms")


if __name__ == "__main__":
    main()
