"""Grade passback through a real `celery worker` on Redis while the LMS is down: the worker's retries
(with backoff) put the latest score in the gradebook once the LMS is back, once, with a reviewer's
adjustment made during the outage winning over the AI's score."""

from __future__ import annotations

import re

import pytest

from programs.models import LTIGradeLink
from tests.programs.lms import FlakyPlatform
from tests.programs.test_grade_passback import adjust, end_and_score, launched_session
from tests.support.celery_worker import Workers

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_the_worker_retries_until_the_lms_is_back_and_the_adjusted_score_arrives_once(
        world_a, live_server, client, workers: Workers):
    lms = FlakyPlatform(tool_base=live_server.url, tenant_slug="acme").start()
    try:
        session_id = launched_session(world_a, lms, client)
        lms.failing_with = 503
        workers.start()
        score = end_and_score(world_a, session_id)  # committed: the passback job goes to the worker
        workers.wait_for("the worker to meet the outage", lambda: lms.refused >= 1)
        refused = lms.refused
        adjust(world_a, score)  # a coach's change during the outage: another job, still failing
        workers.wait_for("the next job to meet the outage", lambda: lms.refused > refused)
        assert lms.gradebook == []

        lms.failing_with = None  # back: the next retry sends the score as it is now
        workers.wait_for("the grade in the gradebook", lambda: lms.gradebook, timeout_s=60)

        def every_job_done():
            link = LTIGradeLink.objects.for_tenant(world_a.tenant).get(session_id=session_id)
            log = "".join(path.read_text(errors="replace") for path in workers.log_dir.glob("*.log"))
            received = set(re.findall(r"Task programs\.send_grade\[([0-9a-f-]+)\] received", log))
            succeeded = set(re.findall(r"Task programs\.send_grade\[([0-9a-f-]+)\] succeeded", log))
            return link.pending_since is None and received and received == succeeded

        workers.wait_for("every passback job (and its retries) to finish", every_job_done, timeout_s=90)
        assert len(lms.gradebook) == 1
        grade = lms.gradebook[0]
        assert grade["scoreGiven"] > score.overall and "Reviewed by a coach" in grade["comment"]
    finally:
        lms.release.set()
        lms.stop()
