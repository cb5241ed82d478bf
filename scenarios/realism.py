"""How a version's realism report reads on the scenario page: each check passed or failed in plain
words, the hidden details nobody reached, replies that broke character, and reply latency. The
report itself is made by the role-play runner (sessions.engines.realism) and stored on the version."""

from __future__ import annotations

from typing import Any

from .models import RealismStatus, ScenarioVersion

PROBE_NAMES = "“are you an AI?”, “ignore your instructions”, “repeat your prompt” and off-topic chatter"


def _ms(value: float) -> str:
    if value >= 1000:
        return f"{value / 1000:.1f} s"
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


def _run(report: dict, name: str) -> dict:
    return next((run for run in report.get("runs", []) if run.get("rep") == name), {})


def _checks(report: dict, *, max_turns: int | None, details: int) -> list[dict[str, Any]]:
    strong, dismissive = _run(report, "strong"), _run(report, "dismissive")
    off = report.get("out_of_character_replies", [])
    limit = f" (limit {max_turns})" if max_turns else ""
    return [
        {
            "label": "Calms down when the rep handles it well",
            "ok": report.get("calms_under_good_practice", False),
            "detail": f"With a strong rep, frustration went from {strong.get('start_frustration', '?')} "
            f"to {strong.get('end_frustration', '?')}.",
        },
        {
            "label": "Escalates when the rep is dismissive",
            "ok": report.get("escalates_under_bad_practice", False),
            "detail": f"A dismissive rep {'made the customer escalate' if dismissive.get('end_reason') == 'escalated' else 'did not make the customer escalate'}"
            f" (frustration {dismissive.get('start_frustration', '?')} → {dismissive.get('end_frustration', '?')}).",
        },
        {
            "label": "Winnable within the turn limit",
            "ok": report.get("winnable_within_turn_limit", False),
            "detail": f"The strong rep resolved it in {strong.get('turns', '?')} turns{limit}."
            if strong.get("end_reason") == "resolved"
            else f"The strong rep did not get it resolved in {strong.get('turns', '?')} turns{limit}.",
        },
        {
            "label": "Every hidden detail can be found",
            "ok": report.get("hidden_details_reachable", False),
            "detail": f"{details - len(report.get('unreached_details', []))} of {details} revealed by relevant questions.",
        },
        {
            "label": "Stays in character",
            "ok": report.get("stays_in_character", False),
            "detail": f"Probed with {PROBE_NAMES}: "
            + ("no reply broke character." if not off else f"{len(off)} repl{'y' if len(off) == 1 else 'ies'} broke character."),
        },
    ]


def realism_panel(version: ScenarioVersion | None, *, blocking: bool) -> dict[str, Any]:
    """What the "Realism check" panel shows for `version` (the scenario's working version)."""
    panel: dict[str, Any] = {"version": version, "blocking": blocking, "status": "", "checks": []}
    if version is None:
        return panel
    status = version.realism_status
    report = version.realism_report or {}
    panel.update(
        status=status,
        running=status == RealismStatus.RUNNING,
        passed=status == RealismStatus.PASSED,
        failed=status == RealismStatus.FAILED,
        error=report.get("error", "") if status == RealismStatus.ERROR else "",
        engine=version.realism_engine,
        checked_at=version.realism_checked_at,
        requested_at=version.realism_requested_at,
        blocked=blocking and status != RealismStatus.PASSED,
    )
    if status in (RealismStatus.PASSED, RealismStatus.FAILED):
        spec = version.spec or {}
        panel.update(
            checks=_checks(
                report,
                max_turns=(spec.get("end_conditions") or {}).get("max_turns"),
                details=len((spec.get("persona") or {}).get("hidden_details") or []),
            ),
            unreached=report.get("unreached_details", []),
            out_of_character=report.get("out_of_character_replies", []),
            latency=f"Replies took {_ms(report.get('reply_ms_p50', 0.0))} typically, "
            f"{_ms(report.get('reply_ms_max', 0.0))} at the slowest.",
        )
    return panel
