"""Schema-driven fuzzing of the whole API with schemathesis, in-process through the WSGI app.

The schema is fetched from /api/schema/ (what clients see), then every operation is exercised with
positive and negative data (examples, coverage and fuzzing phases) as three callers:

* a tenant admin of Acme with an API token: every schemathesis check must pass (no 5xx, documented
  statuses, content types and response bodies, auth really enforced, …);
* a rep of Bolt with a Bolt token hitting Acme's URLs: 404 everywhere under /api/v1/t/acme/, never
  a 5xx, never a byte of Acme's data;
* nobody: 401 everywhere (404 only where the URL itself doesn't resolve).

Real objects of both tenants exist, and their ids are planted in path, query and body fields, so
generated requests reach real rows of the caller's tenant and of the other one. Generation is
deterministic and bounded so CI is reproducible and quick.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi import checks as openapi_checks

from coachhub.tenancy import services as tenancy_services
from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Role
from sessions import services as session_services
from tests.conftest import World, build_world
from tests.matrix import SEEDERS

ACME, BOLT = "acme", "bolt"
MAX_EXAMPLES = 25  # per operation and phase mode; with coverage cases this is ~60-120 requests an operation
OUTSIDER_EXAMPLES = 8  # the outsider and anonymous callers are refused before any input is read

# Checks that can't hold for this API by design, each with the reason:
EXCLUDED_CHECKS = [
    # DRF coerces rather than rejects: "1" is a fine integer, "yes" a boolean, 1 a string, extra
    # keys are ignored, ids outside the caller's reach are 404 rather than 4xx-on-schema. Schema-
    # invalid input that DRF coerces into valid input is accepted, by design.
    openapi_checks.negative_data_rejection,
    # Schema-valid input still meets domain rules the schema can't express (a scenario spec's
    # fields, a turn in an ended session, a role that can't act on another's session), which
    # answer 400/404/409 in our one error shape; the 400s are deliberate.
    openapi_checks.positive_data_acceptance,
]

# Object ids per resource, filled per world: {path segment: attribute names in world.extra}
PATH_RESOURCES = {
    "assignments": ["assignment"],
    "disputes": ["dispute"],
    "invitations": ["invitation"],
    "kpi-imports": ["kpi_import"],
    "scenario-versions": ["published", "draft", "version"],
    "scenarios": ["scenario"],
    "session-scores": ["session_score"],
    "sessions": ["session", "ended_session", "scored_session", "admin_session"],
}


@dataclass
class FuzzWorld:
    a: World
    b: World
    admin_token: str  # Acme's tenant admin
    outsider_token: str  # a Bolt rep
    cases: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)

    def ids(self, resource: str) -> list[int]:
        found: list[int] = []
        for world in (self.a, self.b):
            if resource in PATH_RESOURCES:
                found += [world.extra[key].id for key in PATH_RESOURCES[resource] if key in world.extra]
            elif resource == "members":
                found += [world.loner.id, world.member(Role.REP).id, world.member(Role.TENANT_ADMIN).id]
            elif resource == "teams":
                found.append(world.team.id)
            elif resource == "tokens":
                found += world.extra["token_ids"]
            elif resource == "behavior_scores":
                found += [world.extra["empathy"].id, world.extra["listening"].id]
        return found


def _markers(world: World) -> list[str]:
    """Strings only this world's data contains: none may appear in an answer to the other tenant."""
    return [world.tenant.name, world.team.name, f"@{world.tenant.slug}.example", f"seeded-{world.tenant.slug}"]


def _seed(world: World) -> None:
    admin = world.member(Role.TENANT_ADMIN)
    invitation, _ = tenancy_services.invitation_create(
        tenant=world.tenant, actor=admin.user, email=f"pending@{world.tenant.slug}.example", role=Role.REP,
        team=world.team,
    )
    world.extra["invitation"] = invitation
    for seeder in SEEDERS:
        seeder(world)
    # A session the admin owns, so turn/end/reply routes have something the token may act on.
    with tenant_context(world.tenant):
        world.extra["admin_session"] = session_services.session_start(
            tenant=world.tenant, rep=admin, version=world.extra["version"]
        )


def _token(world: World, membership, name: str, *, plant: bool) -> str:
    token, raw = tenancy_services.api_token_create(tenant=world.tenant, user=membership.user, name=name)
    if plant:  # never the fuzzer's own token: revoking it would turn the rest of the run into 401s
        world.extra.setdefault("token_ids", []).append(token.id)
    return raw


@pytest.fixture
def fuzz_world(db) -> FuzzWorld:
    a, b = build_world("Acme Support", ACME), build_world("Bolt Care", BOLT)
    _seed(a)
    _seed(b)
    admin_token = _token(a, a.member(Role.TENANT_ADMIN), "fuzzer", plant=False)
    _token(a, a.member(Role.TENANT_ADMIN), "spare", plant=True)  # the fuzzer may revoke (DELETE) this one
    outsider_token = _token(b, b.member(Role.REP), "outsider", plant=True)
    return FuzzWorld(a=a, b=b, admin_token=admin_token, outsider_token=outsider_token)


def _config(world: FuzzWorld, max_examples: int) -> dict:
    dictionaries = {
        resource: {"values": world.ids(resource)}
        for resource in [*PATH_RESOURCES, "members", "teams", "tokens", "behavior_scores"]
    }
    operations = [
        {
            "include-path-regex": rf"/t/\{{tenant_slug\}}/{resource}/\{{id\}}/",
            "parameters": {"path.id": {"dictionary": resource, "probability": 0.5}},
        }
        for resource in dictionaries
        if resource != "behavior_scores"
    ]
    return {
        "seed": 20260101,
        "generation": {"mode": "all", "max-examples": max_examples, "deterministic": True, "database": "none"},
        "phases": {"stateful": {"enabled": False}},
        "parameters": {
            "path.tenant_slug": ACME,
            # Filters and body references name objects of both tenants half of the time.
            "query.session": {"dictionary": "sessions", "probability": 0.5},
            "query.scenario": {"dictionary": "scenarios", "probability": 0.5},
            "query.team": {"dictionary": "teams", "probability": 0.5},
            "query.against": {"dictionary": "scenario-versions", "probability": 0.5},
            "body.scenario_id": {"dictionary": "scenarios", "probability": 0.5},
            "body.version_id": {"dictionary": "scenario-versions", "probability": 0.5},
            "body.session_id": {"dictionary": "sessions", "probability": 0.5},
            "body.membership_id": {"dictionary": "members", "probability": 0.5},
            "body.behavior_score_id": {"dictionary": "behavior_scores", "probability": 0.5},
            "body.team_id": {"dictionary": "teams", "probability": 0.5},
        },
        "dictionaries": dictionaries,
        "operations": operations,
    }


@pytest.fixture
def wsgi_app(db):
    """The production WSGI app, called in-process inside the test's transaction. Like Django's test
    client, keep request_started/finished from closing the connection: outside autocommit (the
    test's transaction) close_old_connections would close it, and PostgreSQL would lose the
    seeded rows mid-run."""
    from coachhub.wsgi import application

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield application
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def _load(app, world: FuzzWorld, max_examples: int):
    config = schemathesis.Config.from_dict(_config(world, max_examples))
    return schemathesis.openapi.from_wsgi("/api/schema/?format=json", app, config=config)


def _fuzz(schema, world: FuzzWorld, check_one, examples: int) -> None:
    """Runs every operation's generated cases through `check_one(case)`; reports every failing
    operation at the end rather than stopping at the first.

    This is the runner `schemathesis.pytest.from_fixture(...).parametrize()` uses per operation;
    its pytest wrapper renames pytest nodes through an attribute pytest 9 removed, so the
    operations run here, inside one test that owns the seeded database.
    """
    from schemathesis.pytest.lazy import get_all_tests

    started = time.perf_counter()
    failures: list[str] = []
    hypothesis_settings = settings(FUZZ_SETTINGS, max_examples=examples)
    for result in get_all_tests(schema=schema, test_func=check_one, settings=hypothesis_settings, given_kwargs=None):
        operation, test = result.ok()
        try:
            test()
        except (Exception, FailureGroup) as exc:  # a failing check, an assertion of ours, or the app raising
            failures.append(f"--- {operation.label}\n{exc}")
    _report(check_one.__name__, world, started)
    assert world.cases, "the fuzzer generated no cases"
    assert not failures, f"{len(failures)} operation(s) failed:\n" + "\n".join(failures)


FUZZ_SETTINGS = settings(
    deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck), print_blob=False
)


def _leaks(response, markers: list[str]) -> list[str]:
    text = response.content.decode("utf-8", "replace")
    return [marker for marker in markers if marker in text]


def _record(world: FuzzWorld, case, response) -> None:
    world.cases[case.operation.label] += 1
    world.statuses[response.status_code] += 1


def _report(title: str, world: FuzzWorld, started: float) -> None:
    summary = {
        "operations": len(world.cases), "cases": sum(world.cases.values()),
        "statuses": dict(sorted(world.statuses.items())), "seconds": round(time.perf_counter() - started, 1),
    }
    print(f"\n{title}: {json.dumps(summary)}")


def _resolvable(path: str) -> bool:
    from django.urls import Resolver404, resolve

    try:
        resolve(path)
    except Resolver404:
        return False
    return True


def _bolt_state(world: FuzzWorld) -> dict:
    """What Acme's admin must never be able to change in Bolt, whatever ids it sends."""
    from coachhub.tenancy.models import ApiToken, AuditEvent, Membership

    bolt = world.b.tenant
    return {
        "audit_events": AuditEvent.objects.for_tenant(bolt).count(),
        "tokens_revoked": ApiToken.objects.for_tenant(bolt).filter(revoked_at__isnull=False).count(),
        "roles": sorted(Membership.objects.for_tenant(bolt).values_list("id", "role")),
        "scenario_updated": type(world.b.extra["scenario"]).objects.for_tenant(bolt)
        .get(pk=world.b.extra["scenario"].pk).updated_at,
    }


def test_fuzz_as_acme_admin(fuzz_world, wsgi_app):
    headers = {"Authorization": f"Bearer {fuzz_world.admin_token}"}
    bolt_before = _bolt_state(fuzz_world)

    def acme_admin(case):
        response = case.call(headers=headers)
        _record(fuzz_world, case, response)
        case.validate_response(response, headers=headers, excluded_checks=EXCLUDED_CHECKS)
        leaked = _leaks(response, _markers(fuzz_world.b))
        assert not leaked, f"{case.operation.label} answered Acme's admin with Bolt's data: {leaked}"

    _fuzz(_load(wsgi_app, fuzz_world, MAX_EXAMPLES), fuzz_world, acme_admin, MAX_EXAMPLES)
    assert _bolt_state(fuzz_world) == bolt_before, "Acme's admin changed something in Bolt"


def test_fuzz_bolt_rep_on_acme_urls(fuzz_world, wsgi_app):
    headers = {"Authorization": f"Bearer {fuzz_world.outsider_token}"}

    def bolt_rep(case):
        response = case.call(headers=headers)
        _record(fuzz_world, case, response)
        # An undeclared method (TRACE, …) on another tenant's URL is 404 like everything there, not
        # 405: the tenant is checked before the method, so it stays invisible.
        excluded = [*EXCLUDED_CHECKS, openapi_checks.unsupported_method]
        case.validate_response(response, headers=headers, excluded_checks=excluded)
        if case.path.startswith("/api/v1/t/"):
            assert response.status_code == 404, (
                f"{case.operation.label} gave a Bolt rep {response.status_code} on Acme's URL {case.formatted_path}"
            )
        leaked = _leaks(response, _markers(fuzz_world.a))
        assert not leaked, f"{case.operation.label} showed Acme's data to a Bolt rep: {leaked}"

    _fuzz(_load(wsgi_app, fuzz_world, OUTSIDER_EXAMPLES), fuzz_world, bolt_rep, OUTSIDER_EXAMPLES)


def test_fuzz_anonymous(fuzz_world, wsgi_app):
    def anonymous(case):
        response = case.call()
        _record(fuzz_world, case, response)
        case.validate_response(response, excluded_checks=EXCLUDED_CHECKS)
        expected = {401} if _resolvable(case.formatted_path) else {404}
        assert response.status_code in expected, (
            f"{case.operation.label} gave an anonymous caller {response.status_code} at {case.formatted_path}"
        )
        leaked = _leaks(response, _markers(fuzz_world.a) + _markers(fuzz_world.b))
        assert not leaked, f"{case.operation.label} showed tenant data to an anonymous caller: {leaked}"

    _fuzz(_load(wsgi_app, fuzz_world, OUTSIDER_EXAMPLES), fuzz_world, anonymous, OUTSIDER_EXAMPLES)


# Bodies no generator produces: nesting past any parser's recursion limit, and a body over the
# request-size limit. Every operation that takes a body gets both, as Acme's admin.
DEEP_DEPTH = 1000
HOSTILE_LIMIT = 256 * 1024  # DATA_UPLOAD_MAX_MEMORY_SIZE for this test, so oversized stays cheap


def _hostile_bodies() -> dict[str, bytes]:
    deep_lists = "[" * DEEP_DEPTH + "]" * DEEP_DEPTH
    deep_objects = '{"a":' * DEEP_DEPTH + "1" + "}" * DEEP_DEPTH
    oversized = json.dumps({"text": "x" * (HOSTILE_LIMIT + 1024), "name": "y", "yaml": "z"})
    return {"deep lists": deep_lists.encode(), "deep objects": deep_objects.encode(), "oversized": oversized.encode()}


def test_fuzz_deeply_nested_and_oversized_bodies(fuzz_world, wsgi_app, settings):
    from werkzeug.test import Client as WsgiClient

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = HOSTILE_LIMIT
    headers = {"Authorization": f"Bearer {fuzz_world.admin_token}"}
    client = WsgiClient(wsgi_app)
    bodies = _hostile_bodies()
    done: set[str] = set()

    def hostile_bodies(case):
        label, method = case.operation.label, case.operation.method.upper()
        if method not in ("POST", "PUT", "PATCH") or label in done:
            return
        done.add(label)
        for kind, body in bodies.items():
            response = client.open(case.formatted_path, method=method, data=body,
                                   content_type="application/json", headers=headers)
            fuzz_world.cases[label] += 1
            fuzz_world.statuses[response.status_code] += 1
            assert response.status_code < 500, f"{label} with {kind}: {response.status_code}"
            # Refused for what it is (400 malformed, 413 too large, 415 not JSON), or before the body
            # is read (403 an operator-only route, 404 an id of nobody's): never a 5xx, always the shape.
            assert response.status_code in (400, 403, 404, 409, 413, 415), f"{label} with {kind}: {response.status_code}"
            error = json.loads(response.get_data())["error"]
            assert error["code"] and error["message"], f"{label} with {kind}: {error}"
            if kind == "oversized" and response.status_code not in (403, 404):
                assert response.status_code == 413, f"{label} with an oversized body: {response.status_code}"
            if kind.startswith("deep") and response.status_code == 400:
                assert error["code"] == "malformed_request", f"{label} with {kind}: {error}"

    _fuzz(_load(wsgi_app, fuzz_world, 1), fuzz_world, hostile_bodies, 1)
    assert len(done) >= 20, f"only {len(done)} operations took a body"
