"""Template context: the current tenant, the viewer's membership, and their other workspaces."""

from .home import nav_for
from .selectors import user_memberships


def tenancy(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    membership = getattr(request, "membership", None)
    return {
        "tenant": getattr(request, "tenant", None),
        "membership": membership,
        "nav_items": (lambda: nav_for(membership)) if membership is not None else (),
        "workspaces": lambda: user_memberships(user=user),
    }
