"""An LTI 1.3 platform (an LMS stand-in) on loopback, built on the `lti1p3platform` package: it starts
OIDC logins, answers the tool's authentication request with a signed launch (resource link or Deep
Linking request, with the AGS claim), publishes its JWKS, issues access tokens for the tool's signed
client assertion, accepts AGS scores into a gradebook and Deep Linking responses into course links."""

from __future__ import annotations

import html
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.oidc_login import OIDCLoginAbstract
from lti1p3platform.registration import Registration
from lti1p3platform.request import Request

LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"


class _Request(Request):
    def build_metadata(self, request):
        return request


class _Conf(LTI1P3PlatformConfAbstract):
    def init_platform_config(self, **kwargs):
        self._reg = kwargs["registration"]

    def get_registration_by_params(self, **kwargs):
        return self._reg


class _Login(OIDCLoginAbstract):
    def set_lti_message_hint(self, **kwargs):
        self._lti_message_hint = kwargs["hint"]

    def get_redirect(self, url):
        return url


class _Launch(LTIAdvantageMessageLaunchAbstract):
    def render_launch_form(self, launch_data, **kwargs):
        fields = "".join(
            f'<input type="hidden" name="{name}" value="{html.escape(str(launch_data[name]))}">'
            for name in ("id_token", "state")
        )
        return (f'<!doctype html><html lang="en"><head><title>Launching…</title></head><body><main><h1>Launching…</h1>'
                f'<form id="launch" method="post" action="{html.escape(launch_data["launch_url"])}">'
                f"{fields}</form></main><script>document.getElementById('launch').submit()</script></body></html>")


def _keypair():
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return (
        private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode(),
        private.public_key().public_bytes(serialization.Encoding.PEM,
                                          serialization.PublicFormat.SubjectPublicKeyInfo).decode(),
    )


class LoopbackPlatform:
    client_id = "coachhub-tool"
    deployment_id = "deployment-1"

    def __init__(self, *, tool_base: str, tenant_slug: str):
        self.tool = f"{tool_base.rstrip('/')}/lti/{tenant_slug}"
        self.private_pem, self.public_pem = _keypair()
        self.users: dict[str, dict] = {}  # sub -> {"name", "email", "roles"}
        self.links: dict[str, dict] = {}  # resource link id -> {"title", "custom"}
        self.gradebook: list[dict] = []  # every score the tool posted, in order
        self.deep_link_items: list[dict] = []
        self._pending: dict[str, dict] = {}  # lti_message_hint -> what to launch
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        # "localhost", like the tool's test server: the launch is then a same-site POST, as it is for
        # an LMS and a tool on one organisation's domain (cross-site launches need HTTPS cookies).
        return f"http://localhost:{self._server.server_address[1]}"

    @property
    def issuer(self) -> str:
        return self.base

    def registration_fields(self) -> dict:
        """What an admin copies from the LMS into CoachHub."""
        return {"name": "Loopback LMS", "issuer": self.issuer, "client_id": self.client_id,
                "deployment_ids": [self.deployment_id], "auth_login_url": f"{self.base}/auth",
                "auth_token_url": f"{self.base}/token", "key_set_url": f"{self.base}/jwks"}

    def start(self) -> LoopbackPlatform:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def launch_url(self, *, user: str, link: str | None = None, deep_linking: bool = False) -> str:
        """The page a person opens in the LMS: it starts the OIDC login at the tool."""
        return f"{self.base}/start?" + urlencode({"user": user, "link": link or "", "deep": int(deep_linking)})

    def _conf(self) -> _Conf:
        reg = (Registration().set_iss(self.issuer).set_client_id(self.client_id)
               .set_deployment_id(self.deployment_id).set_oidc_login_url(f"{self.tool}/login/")
               .set_launch_url(f"{self.tool}/launch/").set_deeplink_launch_url(f"{self.tool}/launch/")
               .set_platform_public_key(self.public_pem).set_platform_private_key(self.private_pem)
               .set_tool_key_set_url(f"{self.tool}/jwks/"))
        return _Conf(registration=reg)

    def _handler(self):
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status: int, body: str | dict, content_type: str = "text/html",
                      headers: dict | None = None):
                data = (json.dumps(body) if isinstance(body, dict) else body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json" if isinstance(body, dict) else content_type)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _form(self) -> dict:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                return {k: v[0] for k, v in parse_qs(raw).items()}

            def do_GET(self):
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/jwks":
                    return self._send(200, {"keys": [Registration.get_jwk(platform.public_pem)]})
                if url.path == "/start":
                    hint = f"hint-{len(platform._pending) + 1}"
                    platform._pending[hint] = query
                    login = _Login(_Request({"get_data": {}, "form_data": {}}), platform._conf())
                    login.set_lti_message_hint(hint=hint)
                    if query.get("deep") == "1":
                        login.set_deeplinking_launch_url()
                    return self._send(302, "", headers={"Location": login.initiate_login(query["user"])})
                if url.path == "/auth":
                    return self._authorize(query)
                return self._send(404, "not found")

            def _authorize(self, query: dict):
                what = platform._pending.get(query.get("lti_message_hint", ""))
                if what is None or query.get("login_hint") != what["user"]:
                    return self._send(400, "unknown login")
                user = platform.users[what["user"]]
                launch = _Launch(_Request({"get_data": query, "form_data": {}}), platform._conf())
                launch.set_user_data(what["user"], user["roles"], full_name=user["name"], email_address=user["email"])
                launch.set_launch_context_claim("course-1", context_title="Onboarding 101")
                if what.get("deep") == "1":
                    launch.set_dl(f"{platform.base}/deep-link-return", title="CoachHub scenario")
                else:
                    link = platform.links[what["link"]]
                    launch.set_resource_link_claim(what["link"], title=link["title"])
                    launch.set_custom_parameters_claim(link["custom"])
                    launch.set_ags(f"{platform.base}/lineitems", f"{platform.base}/lineitems/{what['link']}",
                                   allow_creating_lineitems=False)
                return self._send(200, launch.lti_launch())

            def do_POST(self):
                url = urlsplit(self.path)
                form_type = self.headers.get("Content-Type", "")
                if url.path == "/token":
                    conf = platform._conf()
                    conf.get_registration()
                    try:
                        return self._send(200, dict(conf.get_access_token(self._form())))
                    except Exception as exc:
                        return self._send(400, {"error": "invalid_client", "detail": str(exc)})
                if url.path.startswith("/lineitems/") and url.path.endswith("/scores"):
                    token = self.headers.get("Authorization", "").partition(" ")[2]
                    conf = platform._conf()
                    conf.get_registration()
                    try:
                        allowed = conf.validate_token(token, ["https://purl.imsglobal.org/spec/lti-ags/scope/score"])
                    except Exception:
                        allowed = False
                    if not allowed:
                        return self._send(401, {"error": "bad token"})
                    if "application/vnd.ims.lis.v1.score+json" not in form_type:
                        return self._send(415, {"error": "score media type required"})
                    score = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                    with platform._lock:
                        platform.gradebook.append({"lineitem": url.path.split("/")[2], **score})
                    return self._send(200, {})
                if url.path == "/deep-link-return":
                    conf = platform._conf()
                    conf.get_registration()
                    try:
                        items = conf.validate_deeplinking_resp(self._form())
                    except Exception as exc:
                        return self._send(400, f"refused: {html.escape(str(exc))}")
                    with platform._lock:
                        for item in items:
                            link_id = f"link-{len(platform.links) + 1}"
                            platform.links[link_id] = {"title": item.get("title", ""), "custom": item.get("custom", {})}
                            platform.deep_link_items.append(item)
                    return self._send(200, "<!doctype html><html lang=\"en\"><head><title>Added</title></head><body><main><h1>Added to the course</h1></main></body></html>")
                return self._send(404, "not found")

        return Handler
