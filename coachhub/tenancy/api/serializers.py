"""Input and output serializers of the tenancy API."""

from rest_framework import serializers

from ..models import ApiToken, AuditEvent, Invitation, Membership, Role, Team, TeamRole


class TenantOutput(serializers.Serializer):
    name = serializers.CharField()
    slug = serializers.SlugField()


class MembershipBriefOutput(serializers.Serializer):
    tenant = TenantOutput()
    role = serializers.ChoiceField(choices=Role.choices)


class MeOutput(serializers.Serializer):
    email = serializers.EmailField()
    full_name = serializers.CharField()
    is_platform_operator = serializers.BooleanField(source="is_staff")
    memberships = MembershipBriefOutput(many=True)


class TeamLinkOutput(serializers.Serializer):
    team_id = serializers.IntegerField()
    team = serializers.CharField(source="team.name")
    kind = serializers.ChoiceField(choices=TeamRole.choices)


class MemberOutput(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email")
    full_name = serializers.CharField(source="user.full_name")
    teams = TeamLinkOutput(source="team_links", many=True)

    class Meta:
        model = Membership
        fields = ["id", "email", "full_name", "role", "external_id", "started_on", "is_active", "teams"]


class MemberUpdateInput(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


class TeamMemberOutput(serializers.Serializer):
    membership_id = serializers.IntegerField()
    email = serializers.EmailField(source="membership.user.email")
    kind = serializers.ChoiceField(choices=TeamRole.choices)


class TeamOutput(serializers.ModelSerializer):
    people = TeamMemberOutput(source="links", many=True)

    class Meta:
        model = Team
        fields = ["id", "name", "created_at", "people"]


class TeamInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)


class TeamMembershipInput(serializers.Serializer):
    membership_id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=TeamRole.choices, default=TeamRole.MEMBER)
    present = serializers.BooleanField(default=True)


class InvitationOutput(serializers.ModelSerializer):
    status = serializers.CharField()
    team = serializers.CharField(source="team.name", allow_null=True, default=None)

    class Meta:
        model = Invitation
        fields = ["id", "email", "full_name", "role", "team", "status", "created_at", "expires_at", "send_count"]


class InvitationInput(serializers.Serializer):
    email = serializers.EmailField()
    full_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    role = serializers.ChoiceField(choices=Role.choices, default=Role.REP)
    team_id = serializers.IntegerField(required=False, allow_null=True, default=None)


class MemberImportInput(serializers.Serializer):
    file = serializers.FileField()
    dry_run = serializers.BooleanField(default=True)


class MemberImportRowOutput(serializers.Serializer):
    line = serializers.IntegerField()
    email = serializers.CharField()
    name = serializers.CharField()
    role = serializers.CharField()
    team = serializers.CharField(source="team_name")
    errors = serializers.ListField(child=serializers.CharField())


class MemberImportOutput(serializers.Serializer):
    ok = serializers.BooleanField()
    dry_run = serializers.BooleanField()
    created = serializers.IntegerField()
    file_errors = serializers.ListField(child=serializers.CharField())
    rows = MemberImportRowOutput(many=True)


class AuditEventOutput(serializers.ModelSerializer):
    actor = serializers.EmailField(source="actor.email", allow_null=True, default=None)

    class Meta:
        model = AuditEvent
        fields = ["id", "created_at", "actor", "action", "target_type", "target_id", "summary", "data"]


class ApiTokenOutput(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at"]


class ApiTokenCreatedOutput(ApiTokenOutput):
    key = serializers.CharField(help_text="Shown once; store it now.")

    class Meta(ApiTokenOutput.Meta):
        fields = [*ApiTokenOutput.Meta.fields, "key"]


class ApiTokenInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)


class TenantCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    slug = serializers.SlugField(max_length=50)
    admin_email = serializers.EmailField()
    admin_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")


class TenantCreatedOutput(serializers.Serializer):
    name = serializers.CharField()
    slug = serializers.SlugField()
    invitation_id = serializers.IntegerField()
