"""``manage.py run_roleplay``: play a scenario against a customer engine from the terminal.

Stdout is JSON lines only (one object per utterance, then ``{"end_reason": …}``) so runs can be
piped, diffed and replayed; the interactive prompt goes to stderr. Without ``--tenant`` it plays
a starter-library scenario and writes nothing to the database.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser

from coachhub.core.llm import LLMError, default_llm_config, terminal_error_line
from scenarios.library import LibraryScenarioNotFound, library_get, library_specs
from scenarios.spec import ScenarioSpec
from sessions.engines import ENGINE_NAMES, EngineUnavailable, customer_engines, get_engine
from sessions.engines.base import CustomerEngine, Utterance

Emit = Callable[[dict[str, Any]], None]


class Command(BaseCommand):
    help = "Role-play a scenario against a customer engine; prints JSON lines."
    # Lets tests (and scripts) feed interactive input: call_command(..., stdin=StringIO(...)).
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--list", action="store_true", help="List the starter-library scenarios.")
        parser.add_argument("--scenario", metavar="SLUG", help="Slug of the scenario to play.")
        parser.add_argument("--engine", choices=ENGINE_NAMES, default="embedded", help="Customer engine.")
        parser.add_argument(
            "--tenant", metavar="SLUG", help="Play a tenant's scenario instead of the library's."
        )
        parser.add_argument(
            "--seed", type=int, default=0, help="Seed for the customer's wording (default 0)."
        )
        parser.add_argument(
            "--rep",
            metavar="EMAIL",
            help="With --tenant: the member the session is recorded for (default: the first tenant admin).",
        )
        parser.add_argument(
            "--rep-script",
            metavar="FILE",
            help="File with one rep line per line (blank lines skipped). Without it, play interactively.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            for spec in library_specs():
                self._emit({"slug": spec.slug, "title": spec.title, "moment": spec.moment})
            return
        if not options["scenario"]:
            raise CommandError("Pass --list, or --scenario <slug> to play one.")
        if options["rep_script"]:
            rep_lines: Iterable[str] = _read_rep_script(options["rep_script"])
        else:
            rep_lines = _interactive_lines(options.get("stdin") or sys.stdin, self.stderr)
        try:
            if options["tenant"]:
                play_in_tenant(
                    tenant_slug=options["tenant"], scenario_slug=options["scenario"], engine_name=options["engine"],
                    seed=options["seed"], rep_email=options["rep"], rep_lines=rep_lines, emit=self._emit,
                )
                return
            spec = _resolve_spec(slug=options["scenario"])
            engine = _resolve_engine(options["engine"])
            play(engine=engine, spec=spec, seed=options["seed"], rep_lines=rep_lines, emit=self._emit)
        except LLMError as exc:
            # One line on stderr and a non-zero exit (CommandError), not a traceback: the lines
            # already printed stay valid JSON, and the cause is named for whoever runs it.
            raise CommandError(terminal_error_line("The LLM customer", exc)) from None

    def _emit(self, payload: dict[str, Any]) -> None:
        self.stdout.write(json.dumps(payload, ensure_ascii=False))


def play(
    *, engine: CustomerEngine, spec: ScenarioSpec, seed: int, rep_lines: Iterable[str], emit: Emit
) -> str:
    """Run one conversation in memory, emitting each utterance; returns the end reason.

    Turn 0 is the customer's opening line; rep and customer turns alternate after it.
    """
    customer, state = engine.start(spec, seed=seed)
    history = [Utterance("customer", customer.text)]
    emit({"turn": 0, "speaker": "customer", "text": customer.text, "frustration": customer.frustration})
    end_reason = "rep_ended"
    for rep_text in rep_lines:
        emit({"turn": len(history), "speaker": "rep", "text": rep_text})
        customer, state = engine.respond(spec, state, rep_text, history=tuple(history))
        history += [Utterance("rep", rep_text), Utterance("customer", customer.text)]
        emit(
            {
                "turn": len(history) - 1,
                "speaker": "customer",
                "text": customer.text,
                "frustration": customer.frustration,
            }
        )
        if customer.end_reason is not None:
            end_reason = customer.end_reason
            break
    emit({"end_reason": end_reason})
    return end_reason


def play_in_tenant(
    *, tenant_slug: str, scenario_slug: str, engine_name: str, seed: int, rep_email: str | None,
    rep_lines: Iterable[str], emit: Emit,
) -> str:
    """Run one conversation on a tenant's published scenario through the session services, so it
    is stored (and scored) like a browser session; emits the same JSON lines as `play`."""
    from coachhub.core.errors import ApplicationError
    from coachhub.tenancy.context import tenant_context
    from coachhub.tenancy.models import Membership, Role, Tenant
    from scenarios.models import ScenarioVersion, VersionStatus
    from sessions import selectors, services

    tenant = Tenant.objects.filter(slug=tenant_slug, is_active=True).first()
    if tenant is None:
        raise CommandError(f"No tenant with slug '{tenant_slug}'.")
    with tenant_context(tenant):
        version = (
            ScenarioVersion.objects.filter(scenario__slug=scenario_slug, status=VersionStatus.PUBLISHED)
            .select_related("scenario").first()
        )
        if version is None:
            raise CommandError(f"Tenant '{tenant_slug}' has no published scenario with slug '{scenario_slug}'.")
        members = Membership.objects.filter(is_active=True).select_related("user")
        rep = members.filter(user__email=rep_email.lower()).first() if rep_email else (
            members.filter(role=Role.TENANT_ADMIN).order_by("id").first()
        )
        if rep is None:
            raise CommandError(f"No member '{rep_email}' in tenant '{tenant_slug}'." if rep_email else "The tenant has no admin.")
        try:
            session = services.session_start(tenant=tenant, rep=rep, version=version, engine_name=engine_name, seed=seed)
            opening = selectors.turn_list(tenant=tenant, session=session).first()
            emit({"turn": 0, "speaker": "customer", "text": opening.text, "frustration": opening.frustration})
            for rep_text in rep_lines:
                if not rep_text.strip():
                    continue
                turn, context = services.session_rep_turn_record(
                    tenant=tenant, rep=rep, session_id=session.id, text=rep_text
                )
                emit({"turn": turn.index, "speaker": "rep", "text": turn.text})
                reply = services.session_reply(tenant=tenant, rep=rep, session_id=session.id, context=context)
                emit({"turn": reply.index, "speaker": "customer", "text": reply.text, "frustration": reply.frustration})
                session.refresh_from_db()
                if session.end_reason:
                    break
            session = services.session_end(tenant=tenant, rep=rep, session_id=session.id)
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
    emit({"end_reason": session.end_reason})
    return session.end_reason


def _resolve_spec(*, slug: str) -> ScenarioSpec:
    try:
        return library_get(slug)
    except LibraryScenarioNotFound as exc:
        raise CommandError(str(exc)) from None


def _resolve_engine(name: str) -> CustomerEngine:
    try:
        return get_engine(name, llm_config=default_llm_config() if customer_engines.needs_llm(name) else None)
    except EngineUnavailable as exc:
        raise CommandError(str(exc)) from None


def _read_rep_script(path: str) -> list[str]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CommandError(f"Rep script not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"Can't read rep script {path}: {exc}") from None
    return [line.strip() for line in text.splitlines() if line.strip()]


def _interactive_lines(stdin: TextIO, prompt_out: Any) -> Iterator[str]:
    """Rep lines typed at a "> " prompt until end of input (Ctrl-D) or Ctrl-C."""
    while True:
        prompt_out.write("> ", ending="")
        prompt_out.flush()
        try:
            line = stdin.readline()
        except KeyboardInterrupt:
            return
        if not line:
            return
        yield line.rstrip("\r\n")
