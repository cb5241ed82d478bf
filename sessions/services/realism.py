"""The realism check from the scenario page: "Check this scenario" runs the simulated reps of
``sessions.engines.realism`` against the tenant's own customer engine, as a Celery job (an LLM
customer can take minutes), and stores the report on the version it checked (through the
scenarios service, which owns versions)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from django.db import transaction

from coachhub.core.errors import ApplicationError, Conflict
from coachhub.core.llm import LLMError, terminal_error_line
from coachhub.tenancy.budget import metered
from coachhub.tenancy.models import Tenant, User
from coachhub.tenancy.selectors import ai_settings_get
from scenarios.models import Scenario, ScenarioVersion
from scenarios.selectors import scenario_working_version
from scenarios.services import version_realism_record, version_realism_start
from scenarios.spec import ScenarioSpec
from sessions.engines.base import CustomerEngine, CustomerTurn, EngineError, EngineState, Utterance
from sessions.engines.realism import check_scenario

from .lifecycle import engine_get

logger = logging.getLogger(__name__)


class _MeteredEngine:
    """The tenant's engine with every model call reserved against and settled to its token budget,
    like a practice turn: a check is real spend on the tenant's LLM."""

    def __init__(self, tenant: Tenant, engine: CustomerEngine) -> None:
        self._tenant, self._engine = tenant, engine
        self.name, self.model = engine.name, engine.model

    def start(self, spec: ScenarioSpec, *, seed: int) -> tuple[CustomerTurn, EngineState]:
        return self._engine.start(spec, seed=seed)

    def respond(
        self, spec: ScenarioSpec, state: EngineState, rep_text: str, *, history: Sequence[Utterance] = ()
    ) -> tuple[CustomerTurn, EngineState]:
        texts = [utterance.text for utterance in history] + [rep_text]
        with metered(tenant=self._tenant, estimate=self._engine.token_estimate(spec, texts)) as meter:
            turn, after = self._engine.respond(spec, state, rep_text, history=history)
            meter.charge(self._engine.tokens_used(state, after))
        return turn, after


def scenario_realism_check_request(*, tenant: Tenant, actor: User, scenario: Scenario) -> ScenarioVersion:
    """Start a check of the scenario's working version (its draft, else its published version) on
    the tenant's configured customer engine. The job leaves after the commit; with no broker it
    runs inline, so the report is there when this returns."""
    version = scenario_working_version(scenario)
    if version is None:
        raise Conflict("This scenario has no content to check yet. Edit it first.", code="nothing_to_check")
    engine_name = ai_settings_get(tenant=tenant).customer_engine
    engine = engine_get(tenant=tenant, name=engine_name)  # an engine that can't run here is refused now
    with transaction.atomic():
        version = version_realism_start(
            tenant=tenant, actor=actor, version=version, engine=f"{engine.name}:{engine.model}"
        )
        requested_at = version.realism_requested_at.isoformat()
        transaction.on_commit(
            lambda: _enqueue(tenant_id=tenant.id, version_id=version.id, requested_at=requested_at), robust=True
        )
    return version


def _enqueue(*, tenant_id: int, version_id: int, requested_at: str) -> None:
    from sessions.tasks import check_scenario_realism

    check_scenario_realism.delay(tenant_id=tenant_id, version_id=version_id, requested_at=requested_at)


def scenario_realism_check_run(*, tenant: Tenant, version_id: int, requested_at: str) -> ScenarioVersion | None:
    """The job: run the check the author asked for and store its report. A version that is gone, was
    edited, or was checked again since is left alone (returns None), so a job that runs twice, or
    late, changes nothing."""
    version = ScenarioVersion.objects.for_tenant(tenant).filter(pk=version_id).first()
    asked_at = datetime.fromisoformat(requested_at)
    if version is None or version.realism_requested_at != asked_at:
        logger.info("Realism check of version %s: nothing to do (gone or superseded).", version_id)
        return None
    checked_spec = dict(version.spec)
    engine_label = version.realism_engine
    report, error = None, ""
    try:
        engine = engine_get(tenant=tenant, name=engine_label.split(":", 1)[0])
        report = check_scenario(_MeteredEngine(tenant, engine), version.as_spec()).to_dict()
        engine_label = report["engine"]
    except LLMError as exc:
        error = terminal_error_line("The LLM customer", exc)
    except (EngineError, ApplicationError) as exc:
        error = getattr(exc, "message", None) or str(exc)
    if error:
        logger.warning("Realism check of version %s could not run: %s", version_id, error)
    return version_realism_record(
        tenant=tenant, version_id=version_id, requested_at=asked_at, checked_spec=checked_spec,
        report=report, engine=engine_label, error=error,
    )


def scenario_realism_check_fail(*, tenant: Tenant, version_id: int, requested_at: str, error: str) -> None:
    """A job that was stopped (its time limit) records why, so the page stops saying "checking…"."""
    version = ScenarioVersion.objects.for_tenant(tenant).filter(pk=version_id).first()
    if version is None:
        return
    version_realism_record(
        tenant=tenant, version_id=version_id, requested_at=datetime.fromisoformat(requested_at),
        checked_spec=dict(version.spec), report=None, engine=version.realism_engine, error=error,
    )
