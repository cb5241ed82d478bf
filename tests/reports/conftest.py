"""Reports tests: uploads go to a temporary MEDIA_ROOT, and the reports URLs are mounted."""

import pytest


@pytest.fixture(autouse=True)
def kpi_media_and_urls(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ROOT_URLCONF = "tests.reports.urlconf"
