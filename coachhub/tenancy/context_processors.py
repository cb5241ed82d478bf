"""Template context: the current tenant, the viewer's membership, and their other workspaces."""

from .selectors import user_memberships


def tenancy(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "tenant": getattr(request, "tenant", None),
        "membership": getattr(request, "membership", None),
        "workspaces": lambda: user_memberships(user=user),
    }
