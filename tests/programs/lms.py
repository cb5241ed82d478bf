"""The loopback LMS of the LTI tests (tests/support/lti_platform.py, on `lti1p3platform`) made to fail on
demand and to offer Names and Role Provisioning Services, plus a launch driven through Django's test
client (no browser) for tests below the e2e layer.

- `failing_with = 503` answers every AGS score with that status (an LMS outage); `stalled` holds
  score requests until released and then drops them unrecorded (an LMS that hangs: the tool's
  timeout must cut it off).
- Launches carry the NRPS claim; GET /memberships/<context> answers the membership container
  (`application/vnd.ims.lti-nrps.v2.membershipcontainer+json`) for a token with the NRPS scope,
  two members a page with a `Link: rel="next"` header, as Canvas and Moodle page their rosters.
"""

from __future__ import annotations

import html
import json
import re
import threading
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.support.lti_platform import LoopbackPlatform, _Launch, _Request

NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
NRPS_MEDIA_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
COURSE = "course-1"
PAGE_SIZE = 2


class FlakyPlatform(LoopbackPlatform):
    def __init__(self, *, tool_base: str, tenant_slug: str):
        self.failing_with: int | None = None
        self.stalled = threading.Event()  # set: score requests wait for `release`
        self.release = threading.Event()
        self.score_requests = 0  # every score POST that reached the LMS, answered or not
        self.refused = 0  # of which answered with `failing_with`
        self.roster: dict[str, dict] = {}  # sub -> member fields, for NRPS (beside `users`, who launch)
        self.nrps_requests = 0
        super().__init__(tool_base=tool_base, tenant_slug=tenant_slug)

    def members(self) -> list[dict]:
        everyone = {**{sub: {"name": u["name"], "email": u["email"], "roles": u["roles"]}
                       for sub, u in self.users.items()}, **self.roster}
        return [{"user_id": sub, "status": "Active", **fields} for sub, fields in sorted(everyone.items())]

    def _handler(self):
        platform = self
        base = super()._handler()

        class Handler(base):
            def _authorize(self, query: dict):
                # The base launch, plus the NRPS claim on resource-link launches.
                what = platform._pending.get(query.get("lti_message_hint", ""))
                if what is None or what.get("deep") == "1" or query.get("login_hint") != what["user"]:
                    return super()._authorize(query)
                user = platform.users[what["user"]]
                launch = _Launch(_Request({"get_data": query, "form_data": {}}), platform._conf())
                launch.set_user_data(what["user"], user["roles"], full_name=user["name"], email_address=user["email"])
                launch.set_launch_context_claim(COURSE, context_title="Onboarding 101")
                link = platform.links[what["link"]]
                launch.set_resource_link_claim(what["link"], title=link["title"])
                launch.set_custom_parameters_claim(link["custom"])
                launch.set_ags(f"{platform.base}/lineitems", f"{platform.base}/lineitems/{what['link']}",
                               allow_creating_lineitems=False)
                launch.set_nrps(f"{platform.base}/memberships/{COURSE}")
                return self._send(200, launch.lti_launch())

            def do_POST(self):
                url = urlsplit(self.path)
                if url.path.startswith("/lineitems/") and url.path.endswith("/scores"):
                    with platform._lock:
                        platform.score_requests += 1
                    if platform.stalled.is_set():  # hangs, and never records it (a gateway gave up)
                        platform.release.wait(timeout=30)
                        self.close_connection = True
                        return None
                    if platform.failing_with is not None:
                        self.rfile.read(int(self.headers.get("Content-Length", 0)))
                        with platform._lock:
                            platform.refused += 1
                        return self._send(platform.failing_with, {"error": "the gradebook is unavailable"})
                return super().do_POST()

            def do_GET(self):
                url = urlsplit(self.path)
                if not url.path.startswith("/memberships/"):
                    return super().do_GET()
                with platform._lock:
                    platform.nrps_requests += 1
                token = self.headers.get("Authorization", "").partition(" ")[2]
                conf = platform._conf()
                conf.get_registration()
                try:
                    allowed = conf.validate_token(token, [NRPS_SCOPE])
                except Exception:
                    allowed = False
                if not allowed:
                    return self._send(401, {"error": "bad token"})
                if url.path != f"/memberships/{COURSE}":
                    return self._send(404, {"error": "no such course"})
                page = int(parse_qs(url.query).get("page", ["1"])[0])
                members = platform.members()
                chunk = members[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
                headers = {}
                if page * PAGE_SIZE < len(members):
                    headers["Link"] = f'<{platform.base}/memberships/{COURSE}?page={page + 1}>; rel="next"'
                body = {"id": f"{platform.base}{self.path}", "context": {"id": COURSE, "title": "Onboarding 101"},
                        "members": chunk}
                return self._send(200, json.dumps(body), content_type=NRPS_MEDIA_TYPE, headers=headers)

        return Handler


def launch(client, platform: LoopbackPlatform, *, user: str, link: str):
    """A learner opens `link` in the LMS; the OIDC login and the signed launch pass through the
    Django test client (the tool) and the loopback LMS over HTTP. Returns the tool's launch response."""
    start = httpx.get(platform.launch_url(user=user, link=link))
    assert start.status_code == 302, start.text
    login = client.get(start.headers["location"])
    assert login.status_code == 302, login.content
    auth = httpx.get(login["Location"])
    assert auth.status_code == 200, auth.text
    fields = {name: html.unescape(value) for name, value in
              re.findall(r'name="(id_token|state)" value="([^"]*)"', auth.text)}
    action = html.unescape(re.search(r'action="([^"]+)"', auth.text).group(1))
    return client.post(urlsplit(action).path, fields)
