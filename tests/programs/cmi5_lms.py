"""A cmi5 LMS on loopback: the LRS of tests/support/lrs_server.py plus what a cmi5 LMS adds around it
— a one-time fetch URL per launch that hands out the session's auth token, the LMS.LaunchData state
document (context template, launch mode, moveOn, mastery score), and the `launched` statement the
LMS records itself before the AU starts. Statements sent with an issued token are accepted and the
Authorization each came with is kept, so tests can see the AU used its launch's token."""

from __future__ import annotations

import json
import uuid
from urllib.parse import parse_qs, urlsplit

from tests.support.lrs_server import LoopbackLRS

SESSION_EXTENSION = "https://w3id.org/xapi/cmi5/context/extensions/sessionid"
COURSE_ID = "https://lms.example/courses/onboarding-101"


class Cmi5LMS(LoopbackLRS):
    def __init__(self, **kwargs):
        self._fetchable: dict[str, str] = {}  # fetch id -> token, until fetched once
        self.issued: set[str] = set()
        self.launch_data: dict = {}
        self.authorization_of: dict[str, str] = {}  # statement id -> the Authorization it came with
        super().__init__(**kwargs)

    @property
    def origin(self) -> str:
        return self.endpoint.removesuffix("/xapi/")

    def launch_params(self, *, actor: dict, activity_id: str, mastery_score: float | None = None,
                      move_on: str = "Passed") -> dict:
        """What the LMS puts on the AU's launch URL, after recording `launched` itself."""
        registration, fetch_id = str(uuid.uuid4()), uuid.uuid4().hex
        self._fetchable[fetch_id] = uuid.uuid4().hex
        self.launch_data = {
            "contextTemplate": {"contextActivities": {"grouping": [{"id": COURSE_ID}]},
                                "extensions": {SESSION_EXTENSION: str(uuid.uuid4())}},
            "launchMode": "Normal", "moveOn": move_on,
            **({"masteryScore": mastery_score} if mastery_score is not None else {}),
        }
        context = json.loads(json.dumps(self.launch_data["contextTemplate"]))
        context["registration"] = registration
        context["contextActivities"]["category"] = [{"id": "https://w3id.org/xapi/cmi5/context/categories/cmi5"}]
        self.stored.append({
            "id": str(uuid.uuid4()), "actor": actor, "object": {"objectType": "Activity", "id": activity_id},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/launched", "display": {"en-US": "launched"}},
            "context": {**context, "extensions": {**context["extensions"],
                                                   "https://w3id.org/xapi/cmi5/context/extensions/launchmode": "Normal",
                                                   "https://w3id.org/xapi/cmi5/context/extensions/moveon": move_on}},
            "timestamp": "2026-12-03T09:00:00.000Z",
        })
        return {"endpoint": self.endpoint, "fetch": f"{self.origin}/fetch/{fetch_id}", "actor": json.dumps(actor),
                "registration": registration, "activityId": activity_id}

    def _handler(self):
        lms = self
        base = super()._handler()

        class Handler(base):
            def _authorized(self) -> bool:
                header = self.headers.get("Authorization", "")
                return header.removeprefix("Basic ") in lms.issued or super()._authorized()

            def do_PUT(self):
                statement_id = parse_qs(urlsplit(self.path).query).get("statementId", [""])[0]
                lms.authorization_of[statement_id] = self.headers.get("Authorization", "")
                return super().do_PUT()

            def do_POST(self):
                url = urlsplit(self.path)
                if not url.path.startswith("/fetch/"):
                    return self._answer(404, {"error": "not found"})
                self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
                token = lms._fetchable.pop(url.path.split("/")[2], None)
                if token is None:  # cmi5: a fetch URL gives its token once
                    return self._answer(401, {"error-code": "1", "error-text": "The fetch URL was already used"})
                lms.issued.add(token)
                return self._answer(200, {"auth-token": token})

            def do_GET(self):
                url = urlsplit(self.path)
                if url.path != "/xapi/activities/state":
                    return super().do_GET()
                if not self._authorized():
                    return self._answer(401, {"error": "bad credentials"})
                if parse_qs(url.query).get("stateId") != ["LMS.LaunchData"]:
                    return self._answer(404, {"error": "no such state"})
                return self._answer(200, lms.launch_data)

        return Handler
