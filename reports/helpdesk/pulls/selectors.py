"""Reads of help-desk API connections: the page's view of each vendor, and what the nightly run syncs."""

from __future__ import annotations

from dataclasses import dataclass

from coachhub.tenancy.models import Tenant

from ..models import HelpdeskConnection, HelpdeskSyncStatus
from .vendors import VENDORS


@dataclass
class VendorView:
    vendor: object
    connection: HelpdeskConnection | None


def helpdesk_connections_due(*, tenant: Tenant) -> list[int]:
    return list(HelpdeskConnection.objects.for_tenant(tenant).exclude(status=HelpdeskSyncStatus.STOPPED)
                .order_by("id").values_list("id", flat=True))


def helpdesk_vendor_list(*, tenant: Tenant) -> list[VendorView]:
    connections = {c.vendor: c for c in HelpdeskConnection.objects.for_tenant(tenant)}
    return [VendorView(vendor, connections.get(key)) for key, vendor in VENDORS.items()]


def helpdesk_connection_get(*, tenant: Tenant, vendor_key: str) -> HelpdeskConnection | None:
    return (HelpdeskConnection.objects.for_tenant(tenant).select_related("source", "last_import")
            .filter(vendor=vendor_key).first())
