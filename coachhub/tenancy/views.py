"""Pages of the tenancy core: login landing, tenant home per role, people, teams, audit, tokens,
invitation acceptance and the platform operators' tenant list."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView, PasswordResetView
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_POST
from django_ratelimit.core import is_ratelimited
from django_ratelimit.decorators import ratelimit
from django_ratelimit.exceptions import Ratelimited

from coachhub.core.errors import ApplicationError, form_apply_errors
from coachhub.core.limits import normalized_email

from . import selectors, services
from .access import ADMIN, ALL_ROLES, role_required
from .context import no_tenant
from .forms import (
    AcceptInvitationForm,
    AISettingsForm,
    ApiTokenForm,
    EmailLoginForm,
    InvitationForm,
    MemberCsvForm,
    RoleForm,
    TeamForm,
    TeamLinkForm,
    TenantCreateForm,
)
from .home import sections_for
from .models import Role, Tenant, User


@method_decorator(ratelimit(key="ip", rate="coachhub.core.limits.login_rate", method="POST", block=True), name="post")
@method_decorator(
    ratelimit(key="coachhub.core.limits.login_email_key", rate="coachhub.core.limits.login_rate", method="POST",
              block=True),
    name="post",
)
class EmailLoginView(LoginView):
    form_class = EmailLoginForm
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def get_initial(self):
        # The password step of the e-mail-first login: /sso/discover/ sends addresses without SSO here.
        return {"username": self.request.GET.get("email", "")[:254]}


@method_decorator(
    ratelimit(key="ip", rate="coachhub.core.limits.password_reset_rate", method="POST", block=True), name="post"
)
@method_decorator(
    ratelimit(key="coachhub.core.limits.password_reset_email_key", rate="coachhub.core.limits.password_reset_rate",
              method="POST", block=True),
    name="post",
)
class ThrottledPasswordResetView(PasswordResetView):
    """Django's reset form, limited per address asked for and per client, so it can't be used to
    flood someone's inbox (or ours)."""


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Where a logged-in person lands: straight into their only workspace, or a switcher."""
    memberships = selectors.user_memberships(user=request.user)
    if len(memberships) == 1 and not request.user.is_staff:
        return redirect("tenant_home", tenant_slug=memberships[0].tenant.slug)
    return render(request, "tenancy/switcher.html", {"memberships": memberships})


@role_required(ALL_ROLES)
def tenant_home(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    membership = request.membership
    context = {"role": membership.role, "sections": _home_sections(request)}
    if membership.role == Role.MANAGER:
        context["team_reps"] = selectors.visible_rep_memberships(membership=membership).select_related("user")
    if membership.role == Role.TENANT_ADMIN:
        context["member_count"] = selectors.member_list(tenant=request.tenant).count()
        context["open_invitations"] = selectors.invitation_list(tenant=request.tenant).filter(
            accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
        ).count()
        context["team_count"] = selectors.team_list(tenant=request.tenant).count()
    return render(request, f"tenancy/home_{membership.role}.html", context)


def _home_sections(request: HttpRequest) -> list:
    """Sections other apps registered for this role (assignments, scorecards, …)."""
    return sections_for(request)


# --- people -----------------------------------------------------------------------------------


@role_required(ADMIN)
def people(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    tenant = request.tenant
    form = InvitationForm(request.POST or None, tenant=tenant)
    if request.method == "POST" and form.is_valid():
        try:
            invitation, _ = services.invitation_create(
                tenant=tenant, actor=request.user, email=form.cleaned_data["email"],
                full_name=form.cleaned_data["full_name"], role=form.cleaned_data["role"], team=form.cleaned_data["team"],
            )
        except ApplicationError as exc:
            form_apply_errors(form, exc)
        else:
            messages.success(request, f"Invitation sent to {invitation.email}.")
            return redirect("people", tenant_slug=tenant.slug)
    return render(
        request,
        "tenancy/people.html",
        {
            "members": selectors.member_list(tenant=tenant),
            "invitations": selectors.invitation_list(tenant=tenant).filter(accepted_at__isnull=True, revoked_at__isnull=True),
            "form": form,
            "csv_form": MemberCsvForm(),
        },
        status=400 if form.errors else 200,
    )


@role_required(ADMIN)
def people_import(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    """CSV upload: the first POST previews every row and keeps the file server-side (for this
    admin in this tenant, for an hour); confirming commits that same file, all rows or none,
    without choosing it again."""
    tenant = request.tenant
    upload_id = request.POST.get("upload", "") if request.method == "POST" else ""
    kept = services.members_csv_upload_get(tenant=tenant, user=request.user, upload_id=upload_id) if upload_id else None
    if request.method == "POST" and request.POST.get("confirm") == "1" and upload_id:
        if kept is None:
            messages.error(request, "That preview has expired (or was already sent). Choose the file again.")
            return redirect("people_import", tenant_slug=tenant.slug)
        preview = services.members_csv_preview(tenant=tenant, raw=kept)
        if preview.ok:
            invitations = services.members_csv_commit(tenant=tenant, actor=request.user, raw=kept)
            services.members_csv_upload_forget(tenant=tenant, user=request.user, upload_id=upload_id)
            messages.success(request, f"{len(invitations)} invitation(s) sent.")
            return redirect("people", tenant_slug=tenant.slug)
        # Something changed since the preview (a person joined, a team was renamed): show why.
        return render(request, "tenancy/people_import.html", {"form": MemberCsvForm(), "preview": preview}, status=400)
    form = MemberCsvForm(request.POST or None, request.FILES or None)
    preview = None
    if request.method == "POST" and form.is_valid():
        raw = form.cleaned_data["file"].read()
        preview = services.members_csv_preview(tenant=tenant, raw=raw)
        if preview.ok and request.POST.get("confirm") == "1":  # the file and the confirmation in one post
            invitations = services.members_csv_commit(tenant=tenant, actor=request.user, raw=raw)
            messages.success(request, f"{len(invitations)} invitation(s) sent.")
            return redirect("people", tenant_slug=tenant.slug)
        if preview.ok:
            upload_id = services.members_csv_upload_keep(tenant=tenant, user=request.user, raw=raw)
    return render(
        request,
        "tenancy/people_import.html",
        {"form": form, "preview": preview, "upload_id": upload_id if preview and preview.ok else ""},
        status=400 if (preview and not preview.ok) or form.errors else 200,
    )


@role_required(ADMIN)
def member_detail(request: HttpRequest, tenant_slug: str, membership_id: int) -> HttpResponse:
    tenant = request.tenant
    member = selectors.membership_get(tenant=tenant, membership_id=membership_id)
    role_form = RoleForm(request.POST or None, initial={"role": member.role})
    if request.method == "POST" and role_form.is_valid():
        try:
            services.membership_change_role(tenant=tenant, actor=request.user, membership=member, role=role_form.cleaned_data["role"])
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"{member.user.email} is now {member.get_role_display()}.")
        return redirect("member_detail", tenant_slug=tenant.slug, membership_id=member.id)
    links = {(link.team_id, link.kind) for link in member.team_links.all()}
    teams = [
        {"team": team, "member": (team.id, "member") in links, "coach": (team.id, "coach") in links}
        for team in selectors.team_list(tenant=tenant)
    ]
    return render(request, "tenancy/member_detail.html", {"member": member, "role_form": role_form, "teams": teams})


@require_POST
@role_required(ADMIN)
def invitation_action(request: HttpRequest, tenant_slug: str, invitation_id: int, verb: str) -> HttpResponse:
    tenant = request.tenant
    invitation = selectors.invitation_get(tenant=tenant, invitation_id=invitation_id)
    try:
        if verb == "resend":
            services.invitation_resend(tenant=tenant, actor=request.user, invitation=invitation)
            messages.success(request, f"A new link was sent to {invitation.email}.")
        else:
            services.invitation_revoke(tenant=tenant, actor=request.user, invitation=invitation)
            messages.success(request, f"The invitation to {invitation.email} was revoked.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("people", tenant_slug=tenant.slug)


# --- teams ------------------------------------------------------------------------------------


@role_required(ADMIN)
def teams(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    tenant = request.tenant
    form = TeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            team = services.team_create(tenant=tenant, actor=request.user, name=form.cleaned_data["name"])
        except ApplicationError as exc:
            form_apply_errors(form, exc)
        else:
            messages.success(request, f"Team {team.name} created.")
            return redirect("teams", tenant_slug=tenant.slug)
    return render(
        request, "tenancy/teams.html", {"teams": selectors.team_list(tenant=tenant), "form": form},
        status=400 if form.errors else 200,
    )


@role_required(ADMIN)
def team_edit(request: HttpRequest, tenant_slug: str, team_id: int) -> HttpResponse:
    """Rename a team (GET shows the form)."""
    tenant = request.tenant
    team = selectors.team_get(tenant=tenant, team_id=team_id)
    form = TeamForm(request.POST or None, initial={"name": team.name})
    if request.method == "POST" and form.is_valid():
        before = team.name
        try:
            services.team_rename(tenant=tenant, actor=request.user, team=team, name=form.cleaned_data["name"])
        except ApplicationError as exc:
            form_apply_errors(form, exc)
        else:
            messages.success(request, f"Team {before} is now called {team.name}.")
            return redirect("teams", tenant_slug=tenant.slug)
    return render(request, "tenancy/team_edit.html", {"team": team, "form": form}, status=400 if form.errors else 200)


@role_required(ADMIN)
def team_delete(request: HttpRequest, tenant_slug: str, team_id: int) -> HttpResponse:
    """GET asks to confirm; POST deletes the team (its people and their assignments stay)."""
    tenant = request.tenant
    team = selectors.team_get(tenant=tenant, team_id=team_id)
    if request.method == "POST":
        services.team_delete(tenant=tenant, actor=request.user, team=team)
        messages.success(request, f"Team {team.name} deleted. Its people are still in {tenant.name}.")
        return redirect("teams", tenant_slug=tenant.slug)
    people = selectors.team_list(tenant=tenant).filter(pk=team.pk).first()
    return render(request, "tenancy/team_delete.html", {"team": people or team})


@require_POST
@role_required(ADMIN)
def team_link(request: HttpRequest, tenant_slug: str, team_id: int) -> HttpResponse:
    tenant = request.tenant
    team = selectors.team_get(tenant=tenant, team_id=team_id)
    form = TeamLinkForm(request.POST)
    if form.is_valid():
        member = selectors.membership_get(tenant=tenant, membership_id=form.cleaned_data["membership"])
        services.team_set_membership(
            tenant=tenant, actor=request.user, team=team, membership=member,
            kind=form.cleaned_data["kind"], present=form.cleaned_data["present"],
        )
        messages.success(request, f"Teams of {member.user.email} updated.")
        return redirect("member_detail", tenant_slug=tenant.slug, membership_id=member.id)
    messages.error(request, "That change could not be made.")
    return redirect("teams", tenant_slug=tenant.slug)


# --- audit and tokens -----------------------------------------------------------------------------


@role_required(ADMIN)
def audit_log(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    page = Paginator(selectors.audit_event_list(tenant=request.tenant), 50).get_page(request.GET.get("page"))
    return render(request, "tenancy/audit.html", {"page": page})


@role_required(ALL_ROLES)
def api_tokens(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    tenant = request.tenant
    form = ApiTokenForm(request.POST or None)
    new_key = None
    if request.method == "POST":
        revoke_id = request.POST.get("revoke")
        if revoke_id:
            token = selectors.api_token_list(tenant=tenant, user=request.user).filter(pk=revoke_id).first()
            if token is not None:
                services.api_token_revoke(tenant=tenant, user=request.user, token=token)
                messages.success(request, f"Token “{token.name}” revoked.")
            return redirect("api_tokens", tenant_slug=tenant.slug)
        if form.is_valid():
            _, new_key = services.api_token_create(tenant=tenant, user=request.user, name=form.cleaned_data["name"])
            form = ApiTokenForm()
    return render(
        request, "tenancy/tokens.html",
        {"tokens": selectors.api_token_list(tenant=tenant, user=request.user), "form": form, "new_key": new_key},
    )


# --- invitations --------------------------------------------------------------------------------


def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    invitation = selectors.invitation_get_by_token(raw_token=token)
    existing = User.objects.filter(email=invitation.email).exists()
    if not selectors.invitation_is_open(invitation):
        return render(request, "tenancy/invitation_closed.html", {"invitation": invitation}, status=410)
    form = AcceptInvitationForm(request.POST or None, existing_account=existing, initial={"full_name": invitation.full_name})
    if request.method == "POST" and existing:
        # Accepting as an existing account checks its password: limit it like the login page, per
        # account and per client address.
        for key in ("ip", lambda group, request: normalized_email(invitation.email)):
            if is_ratelimited(request, group="invitation-password", key=key,
                              rate="coachhub.core.limits.invitation_password_rate", increment=True):
                raise Ratelimited()
    if request.method == "POST" and form.is_valid():
        try:
            membership = services.invitation_accept(
                invitation=invitation, password=form.cleaned_data["password"],
                full_name=form.cleaned_data.get("full_name", ""), current_user=request.user,
            )
        except ApplicationError as exc:
            form_apply_errors(form, exc)
        else:
            login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome to {invitation.tenant.name}!")
            return redirect("tenant_home", tenant_slug=invitation.tenant.slug)
    return render(
        request, "tenancy/invitation_accept.html", {"invitation": invitation, "form": form, "existing": existing},
        status=400 if form.errors else 200,
    )


# --- platform operators ---------------------------------------------------------------------------


@login_required
def platform_tenants(request: HttpRequest) -> HttpResponse:
    # A logged-in non-operator gets the 403 page. (Sending them to the login page, as
    # user_passes_test does, looped: the login page sends a logged-in user straight back here.)
    if not request.user.is_staff:
        raise PermissionDenied("Only platform operators can open this page.")
    form = TenantCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            tenant, invitation = services.tenant_create(actor=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            form_apply_errors(form, exc)
        else:
            messages.success(request, f"Tenant {tenant.name} created; {invitation.email} was invited as its admin.")
            return redirect(reverse("platform_tenants"))
    with no_tenant():
        tenants = list(Tenant.objects.all())
    return render(request, "tenancy/platform_tenants.html", {"tenants": tenants, "form": form}, status=400 if form.errors else 200)


@role_required(ADMIN)
def ai_settings(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    """The tenant admin picks the engines and their OpenAI-compatible endpoint."""
    tenant = request.tenant
    current = selectors.ai_settings_get(tenant=tenant)
    initial = {
        "customer_engine": current.customer_engine, "scorer_engine": current.scorer_engine,
        "llm_base_url": current.llm_base_url, "llm_model": current.llm_model,
        "monthly_token_budget": current.monthly_token_budget, "per_minute_token_budget": current.per_minute_token_budget,
        "block_publish_without_realism_check": current.block_publish_without_realism_check,
    }
    form = AISettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.ai_settings_update(tenant=tenant, actor=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            form_apply_errors(form, exc)
        else:
            messages.success(request, "AI settings saved.")
            return redirect("ai_settings", tenant_slug=tenant.slug)
    from .budget import budget_status

    return render(
        request, "tenancy/ai_settings.html",
        {"form": form, "current": current, "ledger": budget_status(tenant=tenant)},
        status=400 if form.errors else 200,
    )
