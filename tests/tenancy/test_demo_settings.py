"""The demo as scripts/demo runs it: links follow $PORT, and publishing a task inline (no broker)
logs no kombu warning."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _demo_env(tmp_path, **extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SITE_URL", "PORT")}
    env.update(DJANGO_SETTINGS_MODULE="coachhub.settings.local", DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}")
    env.update(extra)
    return env


def test_seeded_demo_links_use_the_port_the_demo_serves_on(tmp_path):
    env = _demo_env(tmp_path, PORT="8765")
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True, timeout=300)
    out = subprocess.run([sys.executable, "manage.py", "seed_demo"], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True, timeout=300).stdout
    assert "http://127.0.0.1:8765/accounts/login/" in out and ":8000" not in out
    probe = "from django.conf import settings; print(settings.SITE_URL)"
    shell = subprocess.run([sys.executable, "manage.py", "shell", "-c", probe], cwd=ROOT, env=env, capture_output=True,
                           text=True, check=True, timeout=120).stdout
    assert shell.strip().splitlines()[-1] == "http://127.0.0.1:8765"
    # An explicit SITE_URL (behind a proxy) still wins.
    env["SITE_URL"] = "https://coach.example.com"
    shell = subprocess.run([sys.executable, "manage.py", "shell", "-c", probe], cwd=ROOT, env=env, capture_output=True,
                           text=True, check=True, timeout=120).stdout
    assert shell.strip().splitlines()[-1] == "https://coach.example.com"


PUBLISH = """
import django, logging
django.setup()
from coachhub.celery import app

@app.task(name="demo.noop")
def noop():
    return 1

noop.apply_async(retry=True, retry_policy={"max_retries": 0})
noop.delay()
print("published")
"""


def test_publishing_a_task_without_a_broker_logs_no_hostname_warning(tmp_path):
    result = subprocess.run([sys.executable, "-c", PUBLISH], cwd=ROOT, env=_demo_env(tmp_path), capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0 and "published" in result.stdout, result.stderr
    assert "No hostname was supplied" not in result.stderr + result.stdout
