"""What this SCIM service declares: the User (with the enterprise extension) and Group schemas
restricted to the attributes we keep, the resource types, and the service provider configuration.
Built from scim2-models' own definitions so the published schema and the parser agree."""

from __future__ import annotations

from typing import Any

from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    EnterpriseUser,
    ETag,
    Filter,
    Group,
    Patch,
    ResourceType,
    ResponseParameters,
    Schema,
    SchemaExtension,
    ServiceProviderConfig,
    Sort,
    User,
)

UserResource = User[EnterpriseUser]
GroupResource = Group

ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
MAX_RESULTS = 200
DEFAULT_COUNT = 100

# Attributes of the core User schema we store and return. Passwords never: people sign in through
# their identity provider or set their own password. The rest of RFC 7643's list (addresses, ims,
# photos, x509Certificates, …) is left out on purpose: CoachHub has no use for it.
USER_ATTRIBUTES = {
    "userName", "name", "displayName", "nickName", "title", "userType", "preferredLanguage", "locale",
    "timezone", "active", "emails", "phoneNumbers", "groups",
}
ENTERPRISE_ATTRIBUTES = {"employeeNumber", "costCenter", "organization", "division", "department", "manager"}
GROUP_ATTRIBUTES = {"displayName", "members"}


def _restricted(schema: Schema, keep: set[str]) -> Schema:
    schema.attributes = [attribute for attribute in schema.attributes if attribute.name in keep]
    return schema


def _group_schema() -> Schema:
    group = _restricted(Group.to_schema(), GROUP_ATTRIBUTES)
    for attribute in group.attributes:
        if attribute.name == "members":
            # A member is named by its id; its display name comes from the user, not the group.
            attribute.sub_attributes = [sub for sub in attribute.sub_attributes if sub.name in ("value", "$ref", "type")]
    return group


def schemas() -> list[Schema]:
    return [
        _restricted(User.to_schema(), USER_ATTRIBUTES),
        _restricted(EnterpriseUser.to_schema(), ENTERPRISE_ATTRIBUTES),
        _group_schema(),
    ]


def resource_types() -> list[ResourceType]:
    return [
        ResourceType(
            id="User", name="User", description="A person in the workspace", endpoint="/Users",
            schema_="urn:ietf:params:scim:schemas:core:2.0:User",
            schema_extensions=[SchemaExtension(schema_=ENTERPRISE_URN, required=False)],
        ),
        ResourceType(
            id="Group", name="Group", description="A team", endpoint="/Groups",
            schema_="urn:ietf:params:scim:schemas:core:2.0:Group",
        ),
    ]


def service_provider_config(*, documentation_uri: str) -> ServiceProviderConfig:
    return ServiceProviderConfig(
        documentation_uri=documentation_uri,
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=False),
        authentication_schemes=[
            AuthenticationScheme(
                type="oauthbearertoken", name="Bearer token",
                description="A SCIM token a tenant admin creates under Settings → Identity.",
                primary=True,
            )
        ],
    )


def dump(resource: Any, *, attributes: list[str] | None = None, excluded: list[str] | None = None) -> dict:
    parameters = None
    if attributes or excluded:
        parameters = ResponseParameters(attributes=attributes or None, excluded_attributes=excluded or None)
    return resource.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=parameters)
