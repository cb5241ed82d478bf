"""Production settings as deployed: the API answers JSON only (no browsable HTML API)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import django
django.setup()
from django.test import Client
response = Client().get("/api/v1/me/", HTTP_ACCEPT="text/html", secure=True)
print(response.status_code, response["Content-Type"])
"""


def test_production_api_has_no_browsable_html_renderer(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
        "DJANGO_SETTINGS_MODULE": "coachhub.settings.production",
        "DJANGO_SECRET_KEY": "x" * 50,
        "DJANGO_ALLOWED_HOSTS": "testserver",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'probe.sqlite3'}",
    }
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    status, content_type = result.stdout.split()[-2:]
    # An HTML-preferring browser is not served DRF's browsable page: it gets JSON (or 406), never HTML.
    assert "text/html" not in content_type and status in ("401", "403", "406"), result.stdout
