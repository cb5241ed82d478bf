"""factory_boy factories. Tenant-owned factories derive `tenant` from their parent, so a fixture
can't straddle tenants by accident."""

import factory
from django.utils import timezone

from coachhub.tenancy.models import Membership, Role, Team, TeamMembership, TeamRole, Tenant, User

PASSWORD = "correct-horse-battery"


class TenantOwnedFactory(factory.django.DjangoModelFactory):
    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # Factories write explicitly into the tenant they were given, with or without a context.
        return model_class.objects.for_tenant(kwargs["tenant"]).create(*args, **kwargs)


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"Tenant {n}")
    slug = factory.Sequence(lambda n: f"tenant-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    full_name = factory.Sequence(lambda n: f"Person {n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        if create:
            instance.save()


class MembershipFactory(TenantOwnedFactory):
    class Meta:
        model = Membership

    tenant = factory.SubFactory(TenantFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.REP
    started_on = factory.LazyFunction(timezone.localdate)


class TeamFactory(TenantOwnedFactory):
    class Meta:
        model = Team

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Team {n}")


class TeamMembershipFactory(TenantOwnedFactory):
    class Meta:
        model = TeamMembership

    team = factory.SubFactory(TeamFactory)
    tenant = factory.SelfAttribute("team.tenant")
    membership = factory.SubFactory(MembershipFactory, tenant=factory.SelfAttribute("..tenant"))
    kind = TeamRole.MEMBER
