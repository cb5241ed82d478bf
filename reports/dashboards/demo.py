"""A realistic practice history for the demo tenant, so the dashboards are alive on first start.

Three teams of twelve reps with mixed tenure, fourteen weeks of scored sessions, some manager
adjustments and comments, assignments with a focus behavior, and weekly KPIs that really depend on
the behaviors: reps whose empathy and next-step ownership improve see CSAT rise and escalations fall
a week or two later, plus noise. Rows are written directly with bulk_create (the engines are not
run for thousands of sessions). Idempotent: a tenant that already has the history is left alone.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from coachhub.tenancy.demo import DEMO_PASSWORD, DEMO_TEAM
from coachhub.tenancy.models import Membership, Role, Team, TeamMembership, TeamRole, Tenant, User
from reports.kpi.importing import ensure_builtin_metrics
from reports.models import KpiMetric, KpiValue
from scenarios.behaviors import DEFAULT_BEHAVIORS
from scenarios.models import Assignment, AssignmentRecipient, AssignmentTeam, ScenarioVersion, VersionStatus
from scoring.models import BehaviorScore, ScoreStatus, SessionScore, TurnComment
from sessions.models import EndReason, PracticeSession, SessionStatus, Turn

from .aggregates import rep_weeks_rebuild
from .weeks import current_week

ENGINE = "demo-history"  # marks seeded sessions; their presence makes the seeder a no-op
WEEKS = 14
REPS_PER_TEAM = 12
TEAMS = [
    (DEMO_TEAM, "manager@demo.example", "Morgan Manager", 3.0, 4.0),  # lenient, consistent reviewer
    ("Billing Care", "manager2@demo.example", "Jordan Okafor", -6.0, 4.0),  # strict
    ("Retention Desk", "manager3@demo.example", "Sam Varga", 1.0, 11.0),  # unpredictable
]
FIRST = ["Alex", "Bea", "Chen", "Dana", "Eli", "Fatima", "Gus", "Hana", "Ivan", "Jae", "Kofi", "Lena", "Mateo",
         "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara", "Uma", "Vik", "Wren", "Xia", "Yusuf", "Zoe",
         "Aria", "Bruno", "Cleo", "Dev", "Esme", "Finn", "Gia", "Hugo", "Ines"]
LAST = ["Adler", "Brooks", "Cruz", "Dubois", "Evans", "Fischer", "Garcia", "Hayes", "Ito", "Jensen", "Khan", "Lopez",
        "Mensah", "Novak", "Ortiz", "Patel", "Quist", "Rossi", "Silva", "Tanaka", "Ueda", "Vance", "Weber", "Xu",
        "Yilmaz", "Zhou", "Abara", "Berg", "Costa", "Diaz", "Eze", "Flores", "Grant", "Holm", "Iqbal"]
# Harder moments score lower for everyone.
MOMENT_OFFSET = {"angry_complaint": -7, "policy_refusal": -4, "delayed_resolution": -2, "billing_dispute": 0,
                 "cancellation": -5, "technical_outage": 2, "custom": 0}
GOOD_LINES = [
    "I'm really sorry, that sounds stressful. Let me make sure I have this right.",
    "I can see why that's frustrating, and I'll own getting this fixed for you today.",
    "Here's exactly what happens next: I'll send the confirmation by 3pm and call you tomorrow.",
]
WEAK_LINES = [
    "That's our policy, I'm afraid.",
    "You'll need to call back another time.",
    "I don't know when that will be sorted.",
]
CUSTOMER_LINES = ["This is the third time I'm contacting you about this!", "So what are you going to do about it?"]
TIPS = {
    "active_listening": "Play back the customer's words before you answer.",
    "empathy": "Name the feeling before the fix: 'That sounds really stressful.'",
    "clarity": "One step per sentence, no jargon.",
    "confidence_under_pressure": "Hold the policy calmly and offer what you can do.",
    "next_step_ownership": "End with who does what by when: 'I'll email you by 3pm today.'",
    "instruction_adherence": "Check the scenario's policies before you promise anything.",
}


def seed_demo_history(tenant: Tenant) -> None:
    if PracticeSession.objects.for_tenant(tenant).filter(engine=ENGINE).exists():
        return
    versions = list(
        ScenarioVersion.objects.for_tenant(tenant).filter(status=VersionStatus.PUBLISHED).select_related("scenario")
    )
    if not versions:
        return
    with transaction.atomic():
        _seed(tenant, versions, random.Random(20240610))
    rep_weeks_rebuild(tenant=tenant)


def _seed(tenant: Tenant, versions: list[ScenarioVersion], rng: random.Random) -> None:
    today = timezone.localdate()
    this_week = current_week()
    first_week = this_week - timedelta(weeks=WEEKS - 1)
    people = _people(tenant, rng, today)
    ensure_builtin_metrics(tenant=tenant)
    metrics = {m.key: m for m in KpiMetric.objects.for_tenant(tenant)}
    reps = [rep for team in people for rep in team["reps"]]

    # Latent skill per rep and behavior: a start level by tenure, a weekly trend, then noise per session.
    skills = {}
    for rep in reps:
        tenure_weeks = max(0, (first_week - rep["membership"].started_on).days / 7)
        base = 50 + min(tenure_weeks, 104) / 104 * 22
        improving = rep["new"] or rng.random() < 0.45
        slopes = (1.6, 3.2) if rep["new"] else (0.6, 1.8) if improving else (-0.3, 0.4)
        skills[rep["membership"].id] = {
            key: (base + rng.gauss(0, 6), rng.uniform(*slopes))
            for key in DEFAULT_BEHAVIORS
        }

    def skill(rep_id: int, key: str, week_index: float) -> float:
        level, slope = skills[rep_id][key]
        return max(15.0, min(95.0, level + slope * week_index))

    sessions, plans = [], []
    for team in people:
        for rep in team["reps"]:
            membership = rep["membership"]
            diligence = rng.uniform(0.6, 3.2)
            for w in range(WEEKS):
                week = first_week + timedelta(weeks=w)
                if week + timedelta(days=6) < membership.started_on:
                    continue
                count = max(0, int(round(rng.gauss(diligence, 1.0))))
                for _ in range(count):
                    day = week + timedelta(days=rng.randint(0, 4))
                    if day < membership.started_on or day > today:
                        continue
                    ended = timezone.make_aware(datetime.combine(day, time(rng.randint(9, 16), rng.randint(0, 59))))
                    if ended > timezone.now():
                        continue
                    version = rng.choice(versions)
                    started = ended - timedelta(minutes=rng.randint(4, 12))
                    sessions.append(PracticeSession(
                        tenant=tenant, membership=membership, scenario=version.scenario, version=version,
                        engine=ENGINE, engine_model="demo", seed=rng.randint(1, 10**6), status=SessionStatus.ENDED,
                        end_reason=rng.choice([EndReason.RESOLVED] * 4 + [EndReason.ESCALATED, EndReason.REP_ENDED]),
                        frustration=rng.randint(10, 80), started_at=started, last_activity_at=ended, ended_at=ended,
                    ))
                    plans.append((rep, team, w + (day - week).days / 7, version))
    PracticeSession.objects.for_tenant(tenant).bulk_create(sessions, batch_size=500)

    turns, scores, behavior_plans, comments = [], [], [], []
    for session, (rep, team, t, version) in zip(sessions, plans, strict=True):
        rep_id = rep["membership"].id
        offset = MOMENT_OFFSET.get(version.scenario.moment, 0)
        values = {key: int(max(0, min(100, round(skill(rep_id, key, t) + offset + rng.gauss(0, 8)))))
                  for key in DEFAULT_BEHAVIORS}
        good = sum(values.values()) / len(values) >= 62
        lines = [CUSTOMER_LINES[0], rng.choice(GOOD_LINES if good else WEAK_LINES), CUSTOMER_LINES[1],
                 rng.choice(GOOD_LINES if good else WEAK_LINES)]
        for index, text in enumerate(lines):
            speaker = "customer" if index % 2 == 0 else "rep"
            turns.append(Turn(tenant=tenant, session=session, index=index, speaker=speaker, text=text,
                              created_at=session.started_at + timedelta(seconds=40 * index),
                              latency_ms=rng.randint(1500, 6000) if speaker == "rep" else None,
                              frustration=rng.randint(20, 80) if speaker == "customer" else None))
        overall = round(sum(values.values()) / len(values))
        focus = min(values, key=values.get)
        result = {
            "overall": overall, "focus": {"behavior": focus, "tip": TIPS.get(focus, ""), "example": lines[3]},
            "behaviors": {key: {"score": value, "rationale": _rationale(key, value), "confidence": 0.7,
                                "evidence": [{"turn": 1 if value < 60 else 3, "quote": lines[1 if value < 60 else 3]}]}
                          for key, value in values.items()},
            "policies": [], "turns": [],
        }
        scores.append(SessionScore(
            tenant=tenant, session=session, membership_id=rep_id, engine=ENGINE, scorer_version="demo-1",
            rubric_version=version.number, status=ScoreStatus.DONE, is_current=True, overall=overall, result=result,
            focus_behavior=focus, focus_tip=TIPS.get(focus, ""), focus_example=lines[3], attempts=1,
            created_at=session.ended_at, started_at=session.ended_at, finished_at=session.ended_at + timedelta(seconds=5),
        ))
        behavior_plans.append((values, team, result, session))
        if rng.random() < 0.1:
            comments.append(TurnComment(
                tenant=tenant, session=session, turn_index=1, author=team["manager"].user,
                text=rng.choice(["Nice acknowledgement here.", "Try naming the next step with a time.",
                                 "Slow down and play back what you heard."]),
                created_at=min(timezone.now(), session.ended_at + timedelta(hours=20)),
            ))
    Turn.objects.for_tenant(tenant).bulk_create(turns, batch_size=1000)
    SessionScore.objects.for_tenant(tenant).bulk_create(scores, batch_size=500)
    TurnComment.objects.for_tenant(tenant).bulk_create(comments, batch_size=500)
    behaviors = []
    for score, (values, team, result, session) in zip(scores, behavior_plans, strict=True):
        for key, value in values.items():
            row = BehaviorScore(
                tenant=tenant, session_score=score, behavior=key, ai_score=value,
                rationale=result["behaviors"][key]["rationale"], confidence=0.7,
                evidence=result["behaviors"][key]["evidence"],
            )
            adjusted_at = session.ended_at + timedelta(hours=rng.randint(2, 40))
            if rng.random() < 0.07 and adjusted_at < timezone.now():
                bias, spread = team["bias"]
                row.adjusted_score = int(max(0, min(100, round(value + rng.gauss(bias, spread)))))
                row.adjusted_by = team["manager"].user
                row.adjusted_reason = "Adjusted after listening to the recording."
                row.adjusted_at = adjusted_at
            behaviors.append(row)
    BehaviorScore.objects.for_tenant(tenant).bulk_create(behaviors, batch_size=2000)
    ScenarioVersion.objects.for_tenant(tenant).filter(id__in={v.id for v in versions}, used_at__isnull=True).update(
        used_at=timezone.now()
    )
    _assignments(tenant, people, versions, rng, first_week)
    _kpis(tenant, reps, metrics, skill, rng, first_week, this_week)


def _rationale(key: str, value: int) -> str:
    label = key.replace("_", " ")
    return f"Strong {label} throughout." if value >= 75 else f"Some {label}, with room to grow." if value >= 55 \
        else f"Little {label} in the rep's replies."


def _people(tenant: Tenant, rng: random.Random, today: date) -> list[dict]:
    """Managers, teams and reps (existing demo users reused); one password hash for all new users."""
    password = make_password(DEMO_PASSWORD)
    wanted: list[tuple[str, str]] = []
    for _, email, name, _, _ in TEAMS:
        wanted.append((email, name))
    names = [f"{first} {last}" for first, last in zip(FIRST, LAST, strict=True)]
    rep_emails = [("rep@demo.example", "Riley Rep")]
    rep_emails += [(f"{name.split()[0].lower()}.{name.split()[1].lower()}@demo.example", name)
                   for name in names[:len(TEAMS) * REPS_PER_TEAM - 1]]
    wanted += rep_emails
    existing = {u.email: u for u in User.objects.filter(email__in=[email for email, _ in wanted])}
    User.objects.bulk_create([User(email=email, full_name=name, password=password)
                              for email, name in wanted if email not in existing])
    users = {u.email: u for u in User.objects.filter(email__in=[email for email, _ in wanted])}
    members = {m.user_id: m for m in Membership.objects.for_tenant(tenant).filter(user__in=users.values())}
    new_members = []
    for index, (email, _) in enumerate(wanted):
        user = users[email]
        if user.id in members:
            continue
        role = Role.MANAGER if index < len(TEAMS) else Role.REP
        new_members.append(Membership(tenant=tenant, user=user, role=role))
    Membership.objects.for_tenant(tenant).bulk_create(new_members)
    members = {m.user_id: m for m in Membership.objects.for_tenant(tenant).filter(user__in=users.values())}

    # Tenure: a third new hires (started during the window), the rest one month to four years in.
    rep_members = [members[users[email].id] for email, _ in rep_emails]
    for position, membership in enumerate(rep_members):
        new = position % 3 == 1 or membership.user.email == "rep@demo.example"
        days = rng.randint(14, 80) if new else rng.randint(120, 1500)
        membership.started_on = today - timedelta(days=days)
        membership.demo_new = new
    Membership.objects.for_tenant(tenant).bulk_update(rep_members, ["started_on"])

    teams = []
    links = TeamMembership.objects.for_tenant(tenant)
    for index, (team_name, email, _, bias, spread) in enumerate(TEAMS):
        team, _ = Team.objects.for_tenant(tenant).get_or_create(tenant=tenant, name=team_name)
        manager = members[users[email].id]
        links.get_or_create(tenant=tenant, team=team, membership=manager, kind=TeamRole.COACH)
        team_reps = rep_members[index * REPS_PER_TEAM:(index + 1) * REPS_PER_TEAM]
        for membership in team_reps:
            links.get_or_create(tenant=tenant, team=team, membership=membership, kind=TeamRole.MEMBER)
        teams.append({"team": team, "manager": manager, "bias": (bias, spread),
                      "reps": [{"membership": m, "new": m.demo_new} for m in team_reps]})
    return teams


def _assignments(tenant: Tenant, people: list[dict], versions: list[ScenarioVersion], rng: random.Random,
                 first_week: date) -> None:
    """Every four weeks each manager assigns a scenario with a focus behavior; most reps finish it."""
    recipients = []
    for team in people:
        for round_index, offset in enumerate(range(0, WEEKS, 4)):
            created = timezone.make_aware(datetime.combine(first_week + timedelta(weeks=offset), time(8, 30)))
            if created > timezone.now():
                continue
            version = versions[(round_index + len(team["team"].name)) % len(versions)]
            focus = DEFAULT_BEHAVIORS[(round_index * 2 + len(team["team"].name)) % len(DEFAULT_BEHAVIORS)]
            assignment = Assignment.objects.for_tenant(tenant).create(
                tenant=tenant, scenario=version.scenario, version=version, assigned_by=team["manager"].user,
                focus_behavior=focus, note="Practice this before our next one-to-one.", created_at=created,
                due_on=(created + timedelta(days=7)).date(),
            )
            AssignmentTeam.objects.for_tenant(tenant).create(tenant=tenant, assignment=assignment, team=team["team"])
            for rep in team["reps"]:
                done = created + timedelta(days=rng.randint(1, 6), hours=rng.randint(0, 6))
                finished = rng.random() < 0.75 and done < timezone.now()
                recipients.append(AssignmentRecipient(
                    tenant=tenant, assignment=assignment, membership=rep["membership"], via_team=team["team"],
                    attempts=1 if finished else 0, completed_at=done if finished else None,
                ))
    AssignmentRecipient.objects.for_tenant(tenant).bulk_create(recipients, batch_size=500)


def _kpis(tenant, reps, metrics, skill, rng, first_week, this_week) -> None:
    """Weekly KPIs through last week, driven by the latent behaviors a week or two earlier, plus noise."""
    values = []
    now = timezone.now()
    for rep in reps:
        rep_id = rep["membership"].id
        aht_base = rng.gauss(430, 45)
        aht_noise = rng.uniform(15, 60)
        for w in range(WEEKS):
            week = first_week + timedelta(weeks=w)
            if week >= this_week or week + timedelta(days=6) < rep["membership"].started_on:
                continue

            def s(key, lag=0, w=w, rep_id=rep_id):
                return skill(rep_id, key, max(0, w - lag)) - 60

            kpi = {
                "csat": 74 + 0.35 * s("empathy", 1) + 0.2 * s("next_step_ownership", 2) + rng.gauss(0, 3.5),
                "escalation_rate": 13 - 0.16 * s("next_step_ownership", 1) - 0.08 * s("empathy", 2) + rng.gauss(0, 2),
                "avg_handling_time": aht_base - 1.5 * s("clarity") + rng.gauss(0, aht_noise),
                "first_contact_resolution": 71 + 0.25 * s("clarity", 1) + rng.gauss(0, 4),
                "complaint_resolution_quality": 64 + 0.4 * s("active_listening", 1) + rng.gauss(0, 5),
            }
            for key, value in kpi.items():
                metric = metrics[key]
                low = metric.min_value if metric.min_value is not None else value
                high = metric.max_value if metric.max_value is not None else value
                values.append(KpiValue(tenant=tenant, membership=rep["membership"], metric=metric, period_start=week,
                                       value=round(max(low, min(high, value)), 1), updated_at=now))
    KpiValue.objects.for_tenant(tenant).bulk_create(values, batch_size=2000, ignore_conflicts=True)
