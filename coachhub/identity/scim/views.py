"""SCIM 2.0 endpoints. Plain Django views, not DRF: SCIM has its own media type, error document and
list envelope (RFC 7644 §3.4.2, §3.12), which differ from CoachHub's API conventions on purpose.

Every request names its tenant in the URL and must carry a bearer token of that tenant: a token of
another tenant, a revoked one and an unknown workspace all get the same 401."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from pydantic import ValidationError
from scim2_filter_parser.lexer import SCIMLexer
from scim2_filter_parser.parser import SCIMParser, SCIMParserError
from scim2_filter_parser.transpilers.django_q_object import Transpiler
from scim2_models import Context, Error, ListResponse, PatchOp

from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Tenant

from .. import selectors, services
from ..models import ScimGroup, ScimGroupMember, ScimUser
from ..services import ScimError
from . import schema
from .schema import GroupResource, UserResource

MEDIA_TYPE = "application/scim+json"
MAX_BODY_BYTES = 512 * 1024

# Filterable attributes (RFC 7644 §3.4.2.2) → columns. Anything else is refused by name.
USER_FILTERS = {
    ("userName", None, None): "user_name_folded",
    ("externalId", None, None): "external_id",
    ("id", None, None): "scim_id",
    ("emails", None, None): "email",
    ("emails", "value", None): "email",
    ("displayName", None, None): "display_name",
    ("active", None, None): "active",
}
GROUP_FILTERS = {
    ("displayName", None, None): "display_name",
    ("externalId", None, None): "external_id",
    ("id", None, None): "scim_id",
}


def scim_response(document: dict | None, status: int = 200, location: str | None = None) -> HttpResponse:
    body = b"" if document is None else json.dumps(document, default=str).encode()
    response = HttpResponse(body, status=status, content_type=MEDIA_TYPE if document is not None else None)
    if location:
        response["Location"] = location
    return response


def error_response(status: int, detail: str, scim_type: str | None = None) -> HttpResponse:
    error = Error(status=status, detail=detail, scim_type=scim_type)
    response = scim_response(error.model_dump(), status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="scim"'
    return response


def _validation_error(exc: ValidationError) -> ScimError:
    first = exc.errors()[0]
    kind = str(first.get("type", ""))
    scim_type = kind.removeprefix("scim_") if kind.startswith("scim_") else "invalidValue"
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    message = first.get("msg", "invalid value")
    return ScimError(400, f"{where}: {message}" if where else message, scim_type)


class ScimView(View):
    """Authenticates the tenant's token, enters the tenant and turns ScimErrors into SCIM errors."""

    http_method_names = ["get", "post", "put", "patch", "delete"]

    @classmethod
    def as_view(cls, **initkwargs):
        return csrf_exempt(super().as_view(**initkwargs))

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        slug = kwargs.pop("scim_tenant")
        tenant = Tenant.objects.filter(slug=slug, is_active=True).first()
        header = request.headers.get("Authorization", "")
        scheme, _, raw_key = header.partition(" ")
        token = None
        if tenant is not None and scheme.lower() == "bearer" and raw_key.strip():
            token = selectors.scim_token_by_key(tenant=tenant, raw_key=raw_key.strip())
        if token is None:
            return error_response(401, "A valid SCIM bearer token for this workspace is required.")
        self.tenant, self.token = tenant, token
        self.base_url = request.build_absolute_uri(reverse("scim_root", kwargs={"scim_tenant": slug})).rstrip("/")
        with tenant_context(tenant):
            services.scim_token_touch(token=token)
            if request.method.lower() not in self.http_method_names or not hasattr(self, request.method.lower()):
                return error_response(405, f"{request.method} is not supported here.")
            try:
                return getattr(self, request.method.lower())(request, *args, **kwargs)
            except ScimError as exc:
                return error_response(exc.status, exc.detail, exc.scim_type)
            except ValidationError as exc:
                error = _validation_error(exc)
                return error_response(error.status, error.detail, error.scim_type)

    def body(self, request: HttpRequest) -> dict:
        if len(request.body) > MAX_BODY_BYTES:
            raise ScimError(413, f"The request body is larger than {MAX_BODY_BYTES // 1024} KB.")
        try:
            document = json.loads(request.body or b"null")
        except (ValueError, RecursionError):
            raise ScimError(400, "The request body is not valid JSON.", "invalidSyntax") from None
        if not isinstance(document, dict):
            raise ScimError(400, "The request body must be a JSON object.", "invalidSyntax")
        return document

    def paging(self, request: HttpRequest) -> tuple[int, int]:
        try:
            start = max(1, int(request.GET.get("startIndex", 1)))
            count = max(0, min(schema.MAX_RESULTS, int(request.GET.get("count", schema.DEFAULT_COUNT))))
        except ValueError:
            raise ScimError(400, "startIndex and count must be whole numbers.", "invalidValue") from None
        return start, count

    def attribute_lists(self, request: HttpRequest) -> tuple[list[str] | None, list[str] | None]:
        def split(name: str) -> list[str] | None:
            value = request.GET.get(name, "")
            return [part.strip() for part in value.split(",") if part.strip()] or None

        return split("attributes"), split("excludedAttributes")

    def filtered(self, queryset, request: HttpRequest, attr_map: dict):
        text = request.GET.get("filter", "").strip()
        if not text:
            return queryset
        try:
            tree = SCIMParser().parse(SCIMLexer().tokenize(text))
        except (SCIMParserError, Exception) as exc:  # the lexer raises plain errors on stray characters
            raise ScimError(400, f"The filter “{text}” can't be parsed: {exc}", "invalidFilter") from None
        _check_filter_attributes(tree, attr_map, text)
        query = Transpiler(attr_map).transpile(tree)
        if query is None:
            raise ScimError(400, f"The filter “{text}” can't be used.", "invalidFilter")
        try:
            rows = queryset.filter(query)
            rows.exists()
        except (DjangoValidationError, ValueError):  # e.g. `id eq "not-a-uuid"`: nothing matches
            return queryset.none()
        return rows

    def listing(self, request: HttpRequest, rows: list[Any], total: int, start: int) -> HttpResponse:
        attributes, excluded = self.attribute_lists(request)
        resources = [schema.dump(row, attributes=attributes, excluded=excluded) for row in rows]
        return scim_response({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": total, "startIndex": start, "itemsPerPage": len(resources), "Resources": resources,
        })


def _check_filter_attributes(tree: Any, attr_map: dict, text: str) -> None:
    """Refuses a filter on an attribute we don't index, naming it, instead of silently matching all."""
    from scim2_filter_parser import ast as scim_ast

    allowed = {(a.lower(), (b or "").lower()) for a, b, _ in attr_map}

    def walk(node: Any, namespace: str | None = None) -> None:
        if isinstance(node, scim_ast.AttrPath):
            name = node.attr_name.lower().rsplit(":", 1)[-1] if node.attr_name else ""
            sub = (node.sub_attr.value if node.sub_attr is not None else "") or ""
            if namespace:
                name, sub = namespace, name
            if (name, sub.lower()) not in allowed and (name, "") not in allowed:
                shown = f"{name}.{sub}" if sub else name
                raise ScimError(400, f"Filtering on “{shown}” is not supported (in “{text}”).", "invalidFilter")
            return
        if isinstance(node, scim_ast.Filter) and node.namespace is not None:
            namespace = node.namespace.attr_name.lower()
            # Inside emails[type eq "work"] the selector itself is allowed.
            if (namespace, "") in allowed or any(a == namespace for a, _ in allowed):
                walk(node.expr, None)
                return
        for child in getattr(node, "__dict__", {}).values():
            if isinstance(child, scim_ast.AST):
                walk(child, namespace)

    walk(tree)


# --- rendering ----------------------------------------------------------------------------------------


def _meta(kind: str, row: Any, location: str) -> dict:
    return {
        "resourceType": kind, "created": row.created_at.isoformat(), "lastModified": row.updated_at.isoformat(),
        "location": location, "version": f'W/"{row.version}"',
    }


def user_resource(scim_user: ScimUser, base_url: str, groups: list[ScimGroup] | None = None) -> UserResource:
    document = dict(scim_user.resource)
    document["schemas"] = ["urn:ietf:params:scim:schemas:core:2.0:User"] + (
        [schema.ENTERPRISE_URN] if schema.ENTERPRISE_URN in document else []
    )
    document["id"] = str(scim_user.scim_id)
    if scim_user.external_id is not None:
        document["externalId"] = scim_user.external_id
    location = f"{base_url}/Users/{scim_user.scim_id}"
    document["meta"] = _meta("User", scim_user, location)
    if groups:
        document["groups"] = [
            {"value": str(group.scim_id), "display": group.display_name, "$ref": f"{base_url}/Groups/{group.scim_id}",
             "type": "direct"}
            for group in groups
        ]
    return UserResource.model_validate(document, scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


def _groups_of(tenant: Tenant, scim_users: list[ScimUser]) -> dict[int, list[ScimGroup]]:
    by_user: dict[int, list[ScimGroup]] = {}
    rows = ScimGroupMember.objects.for_tenant(tenant).filter(scim_user__in=scim_users).select_related("group")
    for row in rows:
        by_user.setdefault(row.scim_user_id, []).append(row.group)
    return by_user


def _members_of(tenant: Tenant, groups: list[ScimGroup]) -> dict[int, list[ScimUser]]:
    by_group: dict[int, list[ScimUser]] = {}
    rows = (
        ScimGroupMember.objects.for_tenant(tenant).filter(group__in=groups).select_related("scim_user")
        .order_by("scim_user__created_at", "scim_user__pk")
    )
    for row in rows:
        by_group.setdefault(row.group_id, []).append(row.scim_user)
    return by_group


def group_resource(group: ScimGroup, base_url: str, members: list[ScimUser] | None = None) -> GroupResource:
    if members is None:
        members = _members_of(group.tenant, [group]).get(group.pk, [])
    document = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": str(group.scim_id), "displayName": group.display_name,
        "meta": _meta("Group", group, f"{base_url}/Groups/{group.scim_id}"),
        "members": [
            {"value": str(row.scim_id), "$ref": f"{base_url}/Users/{row.scim_id}", "type": "User"} for row in members
        ],
    }
    if group.external_id is not None:
        document["externalId"] = group.external_id
    if not document["members"]:
        del document["members"]
    return GroupResource.model_validate(document, scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


# --- discovery ---------------------------------------------------------------------------------------


class ServiceProviderConfigView(ScimView):
    http_method_names = ["get"]

    def get(self, request: HttpRequest) -> HttpResponse:
        # The tenant admin's page with the endpoint, the tokens and a pointer to docs/sso.md.
        docs = request.build_absolute_uri(reverse("identity_settings", kwargs={"tenant_slug": self.tenant.slug}))
        config = schema.service_provider_config(documentation_uri=docs)
        document = config.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
        document["meta"] = {"resourceType": "ServiceProviderConfig", "location": f"{self.base_url}/ServiceProviderConfig"}
        return scim_response(document)


class SchemasView(ScimView):
    http_method_names = ["get"]

    def get(self, request: HttpRequest, schema_id: str | None = None) -> HttpResponse:
        documents = []
        for item in schema.schemas():
            document = item.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
            document["meta"] = {"resourceType": "Schema", "location": f"{self.base_url}/Schemas/{item.id}"}
            documents.append(document)
        if schema_id is not None:
            match = next((d for d in documents if d["id"] == schema_id), None)
            return scim_response(match) if match else error_response(404, f"No schema {schema_id}.")
        return _plain_list(documents)


class ResourceTypesView(ScimView):
    http_method_names = ["get"]

    def get(self, request: HttpRequest, type_id: str | None = None) -> HttpResponse:
        documents = []
        for item in schema.resource_types():
            document = item.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
            document["meta"] = {"resourceType": "ResourceType", "location": f"{self.base_url}/ResourceTypes/{item.id}"}
            documents.append(document)
        if type_id is not None:
            match = next((d for d in documents if d["id"] == type_id), None)
            return scim_response(match) if match else error_response(404, f"No resource type {type_id}.")
        return _plain_list(documents)


def _plain_list(documents: list[dict]) -> HttpResponse:
    return scim_response({
        "schemas": [ListResponse.__schema__ if hasattr(ListResponse, "__schema__") else
                    "urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": len(documents), "startIndex": 1, "itemsPerPage": len(documents), "Resources": documents,
    })


class NotFoundView(ScimView):
    def _missing(self, request: HttpRequest, rest: str = "") -> HttpResponse:
        if rest == ".search" and request.method == "POST":
            return error_response(501, "Searching several resource types at once is not supported; "
                                       "search /Users or /Groups with a filter.")
        return error_response(404, f"There is no SCIM endpoint /{rest}.")

    get = post = put = patch = delete = _missing


# --- users -------------------------------------------------------------------------------------------


class UsersView(ScimView):
    http_method_names = ["get", "post"]

    def get(self, request: HttpRequest) -> HttpResponse:
        start, count = self.paging(request)
        rows = self.filtered(selectors.scim_user_list(tenant=self.tenant), request, USER_FILTERS)
        total = rows.count()
        page = list(rows[start - 1:start - 1 + count])
        groups = _groups_of(self.tenant, page)
        resources = [user_resource(row, self.base_url, groups.get(row.pk)) for row in page]
        return self.listing(request, resources, total, start)

    def post(self, request: HttpRequest) -> HttpResponse:
        resource = UserResource.model_validate(self.body(request), scim_ctx=Context.RESOURCE_CREATION_REQUEST)
        scim_user = services.scim_user_create(tenant=self.tenant, token=self.token, resource=resource)
        document = schema.dump(user_resource(scim_user, self.base_url))
        return scim_response(document, 201, location=document["meta"]["location"])


class UserView(ScimView):
    http_method_names = ["get", "put", "patch", "delete"]

    def _get(self, scim_id: str) -> ScimUser:
        scim_user = selectors.scim_user_get(tenant=self.tenant, scim_id=scim_id)
        if scim_user is None:
            raise ScimError(404, f"No user with id {scim_id} in this workspace.")
        return scim_user

    def _render(self, request: HttpRequest, scim_user: ScimUser) -> HttpResponse:
        attributes, excluded = self.attribute_lists(request)
        groups = _groups_of(self.tenant, [scim_user]).get(scim_user.pk)
        return scim_response(schema.dump(user_resource(scim_user, self.base_url, groups), attributes=attributes,
                                         excluded=excluded))

    def get(self, request: HttpRequest, scim_id: str) -> HttpResponse:
        return self._render(request, self._get(scim_id))

    def put(self, request: HttpRequest, scim_id: str) -> HttpResponse:
        scim_user = self._get(scim_id)
        resource = UserResource.model_validate(self.body(request), scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST)
        scim_user = services.scim_user_replace(tenant=self.tenant, token=self.token, scim_user=scim_user,
                                               resource=resource)
        return self._render(request, scim_user)

    def patch(self, request: HttpRequest, scim_id: str) -> HttpResponse:
        scim_user = self._get(scim_id)
        operations = PatchOp[UserResource].model_validate(self.body(request), scim_ctx=Context.RESOURCE_PATCH_REQUEST)
        current = user_resource(scim_user, self.base_url)
        current.meta = None
        try:
            operations.patch(current)
        except ValidationError:
            raise
        except Exception as exc:  # scim2-models raises its SCIM exceptions for bad paths and targets
            raise ScimError(400, str(exc), getattr(exc, "scim_type", None) or "invalidValue") from None
        scim_user = services.scim_user_replace(tenant=self.tenant, token=self.token, scim_user=scim_user,
                                               resource=current)
        return self._render(request, scim_user)

    def delete(self, request: HttpRequest, scim_id: str) -> HttpResponse:
        services.scim_user_delete(tenant=self.tenant, token=self.token, scim_user=self._get(scim_id))
        return scim_response(None, 204)


# --- groups ------------------------------------------------------------------------------------------


class GroupsView(ScimView):
    http_method_names = ["get", "post"]

    def get(self, request: HttpRequest) -> HttpResponse:
        start, count = self.paging(request)
        rows = self.filtered(selectors.scim_group_list(tenant=self.tenant), request, GROUP_FILTERS)
        total = rows.count()
        page = list(rows[start - 1:start - 1 + count])
        members = _members_of(self.tenant, page)
        return self.listing(request, [group_resource(row, self.base_url, members.get(row.pk, [])) for row in page],
                            total, start)

    def post(self, request: HttpRequest) -> HttpResponse:
        resource = GroupResource.model_validate(self.body(request), scim_ctx=Context.RESOURCE_CREATION_REQUEST)
        group = services.scim_group_create(tenant=self.tenant, resource=resource)
        document = schema.dump(group_resource(group, self.base_url))
        return scim_response(document, 201, location=document["meta"]["location"])


class GroupView(ScimView):
    http_method_names = ["get", "put", "patch", "delete"]

    def _get(self, scim_id: str) -> ScimGroup:
        group = selectors.scim_group_get(tenant=self.tenant, scim_id=scim_id)
        if group is None:
            raise ScimError(404, f"No group with id {scim_id} in this workspace.")
        return group

    def _render(self, request: HttpRequest, group: ScimGroup) -> HttpResponse:
        attributes, excluded = self.attribute_lists(request)
        return scim_response(schema.dump(group_resource(group, self.base_url), attributes=attributes,
                                         excluded=excluded))

    def get(self, request: HttpRequest, scim_id: str) -> HttpResponse:
        return self._render(request, self._get(scim_id))

    def put(self, request: HttpRequest, scim_id: str) -> HttpResponse:
        group = self._get(scim_id)
        resource = GroupResource.model_validate(self.body(request), scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST)
        return self._render(request, services.scim_group_replace(tenant=self.tenant, group=group, resource=resource))

    def patch(self, request: HttpRequest, scim_id: str) -> HttpResponse:
        group = self._get(scim_id)
        operations = PatchOp[GroupResource].model_validate(self.body(request), scim_ctx=Context.RESOURCE_PATCH_REQUEST)
        current = group_resource(group, self.base_url)
        current.meta = None
        try:
            operations.patch(current)
        except ValidationError:
            raise
        except Exception as exc:
            raise ScimError(400, str(exc), getattr(exc, "scim_type", None) or "invalidValue") from None
        group = services.scim_group_replace(tenant=self.tenant, group=group, resource=current)
        # Okta and Entra don't read a PATCH reply; a full member list of a large team would be waste.
        if request.GET.get("attributes") or request.GET.get("excludedAttributes"):
            return self._render(request, group)
        return scim_response(None, 204)

    def delete(self, request: HttpRequest, scim_id: str) -> HttpResponse:
        services.scim_group_delete(tenant=self.tenant, group=self._get(scim_id))
        return scim_response(None, 204)
