"""Identity's personal data for erasure (registered in coachhub.tenancy.retention.registry).

A person's break-glass place goes with their membership (its delete cascades; the erasure counts it
under "other"). Their SCIM user, the identity provider's record of them, is kept and only loses its
link to the membership (SET_NULL): the provider owns it and deprovisions it through SCIM.
"""

from __future__ import annotations

from coachhub.tenancy.retention.registry import register_personal_data

from .models import BreakGlassAdmin, ScimUser

register_personal_data("identity", tables=(BreakGlassAdmin, ScimUser), order=60)
