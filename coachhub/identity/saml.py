"""SAML 2.0 service provider on pysaml2 (signatures checked by Debian's xmlsec1): each tenant is its
own service provider, with its own entity ID (the URL of its metadata) and assertion consumer
service, trusting the one identity provider its imported metadata describes.

Every assertion must be signed by a certificate of that metadata, be addressed to this tenant's
entity ID, be within its validity window and (for a sign-in started here) answer the request this
browser made. Nothing here touches the database; `services.saml_sign_in` decides what a validated
assertion means, and keeps the replay cache."""

from __future__ import annotations

import base64
import binascii
import logging
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings

logger = logging.getLogger(__name__)

TIMEOUT_S = 10
METADATA_MAX_BYTES = 1_000_000
# Clock skew tolerated between CoachHub and the identity provider, in seconds.
ACCEPTED_CLOCK_SKEW_S = 90

# Where identity providers put the person's address, name and groups (Okta's and Entra's defaults
# and the LDAP/X.500 names); pysaml2 keeps unknown attribute names as they are sent.
EMAIL_ATTRIBUTES = (
    "email", "mail", "emailaddress", "emailAddress", "Email", "EmailAddress",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress", "urn:oid:0.9.2342.19200300.100.1.3",
)
NAME_ATTRIBUTES = (
    "displayName", "name", "cn", "http://schemas.microsoft.com/identity/claims/displayname", "urn:oid:2.16.840.1.113730.3.1.241",
)
GIVEN_NAME_ATTRIBUTES = ("givenName", "firstName", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname")
SURNAME_ATTRIBUTES = ("sn", "surname", "lastName", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname")
GROUP_ATTRIBUTES = ("groups", "Groups", "memberOf", "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups")


class SamlError(Exception):
    """The metadata or the identity provider's answer can't be used; the message says why, for people."""


@dataclass
class IdpInfo:
    entity_id: str
    sso_url: str
    sso_binding: str
    certificates: int


@dataclass
class SamlIdentity:
    """What a validated assertion says about the person."""

    email: str
    name: str
    groups: list[str]
    name_id: str
    assertion_id: str
    expires_at: datetime
    in_response_to: str | None
    issuer: str
    attributes: dict = field(default_factory=dict)


def xmlsec_binary() -> str:
    path = shutil.which("xmlsec1")
    if path is None:
        raise SamlError("SAML needs the xmlsec1 program on the server (Debian: apt-get install xmlsec1).")
    return path


def _config(*, entity_id: str, acs_url: str, metadata_xml: str | None):
    from saml2 import BINDING_HTTP_POST
    from saml2.config import SPConfig
    from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NAMEID_FORMAT_UNSPECIFIED

    config = SPConfig()
    config.load({
        "entityid": entity_id,
        "xmlsec_binary": xmlsec_binary(),
        "allow_unknown_attributes": True,
        "accepted_time_diff": ACCEPTED_CLOCK_SKEW_S,
        "service": {"sp": {
            "name": "CoachHub",
            "endpoints": {"assertion_consumer_service": [(acs_url, BINDING_HTTP_POST)]},
            # Signed assertions are required; a signed response around them is welcome, not needed.
            "want_assertions_signed": True,
            "want_response_signed": False,
            "authn_requests_signed": False,
            # IdP-initiated sign-ins carry no InResponseTo; services decide whether they are allowed,
            # and a response that answers a request must answer this browser's (checked below).
            "allow_unsolicited": True,
            "name_id_format": [NAMEID_FORMAT_EMAILADDRESS, NAMEID_FORMAT_UNSPECIFIED],
            "required_attributes": [],
        }},
        "metadata": {"inline": [metadata_xml]} if metadata_xml else {},
    })
    return config


def sp_metadata(*, entity_id: str, acs_url: str) -> str:
    """The service provider metadata to give the identity provider (entity ID, ACS, NameID format)."""
    from saml2.metadata import entity_descriptor

    descriptor = entity_descriptor(_config(entity_id=entity_id, acs_url=acs_url, metadata_xml=None))
    return descriptor.to_string().decode()


def parse_idp_metadata(xml: str) -> IdpInfo:
    """Checks the metadata describes exactly one identity provider with a single sign-on endpoint
    and a signing certificate; refuses anything else with a message naming what's missing."""
    from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT

    xml = (xml or "").strip()
    if not xml:
        raise SamlError("The metadata is empty.")
    if len(xml.encode()) > METADATA_MAX_BYTES:
        raise SamlError("The metadata is larger than 1 MB; give the metadata of your CoachHub application only.")
    try:
        config = _config(entity_id="urn:coachhub:metadata-check", acs_url="https://coachhub.invalid/acs/", metadata_xml=xml)
        idps = list(config.metadata.identity_providers())
    except SamlError:
        raise
    except Exception as exc:  # pysaml2 raises many kinds for bad XML
        raise SamlError(f"The metadata isn't valid SAML 2.0 metadata XML ({str(exc)[:200]}).") from None
    if not idps:
        raise SamlError("The metadata describes no identity provider (no IDPSSODescriptor).")
    if len(idps) > 1:
        raise SamlError(f"The metadata describes {len(idps)} identity providers; give the metadata of one.")
    entity_id = idps[0]
    services = config.metadata.single_sign_on_service(entity_id, BINDING_HTTP_REDIRECT)
    if not services:
        posts = config.metadata.single_sign_on_service(entity_id, BINDING_HTTP_POST)
        raise SamlError(
            "The identity provider's metadata has no SingleSignOnService with the HTTP-Redirect binding"
            + (" (only HTTP-POST, which CoachHub doesn't send requests with)." if posts else ".")
        )
    sso_url, sso_binding = services[0]["location"], BINDING_HTTP_REDIRECT
    certificates = config.metadata.certs(entity_id, "idpsso", "signing")
    if not certificates:
        raise SamlError("The identity provider's metadata has no signing certificate, so its assertions can't be "
                        "checked.")
    return IdpInfo(entity_id=entity_id, sso_url=sso_url, sso_binding=sso_binding, certificates=len(certificates))


def fetch_metadata(url: str) -> str:
    """Reads the identity provider's metadata from its URL, server-side, through the same address
    guard as every outbound call CoachHub makes to an address an admin typed: no private, loopback
    or link-local addresses (unless the operator allows private identity providers), no redirects."""
    import httpx

    from coachhub.core.llm.clients import PublicAddressTransport, endpoint_problem

    url = (url or "").strip()
    allow_private = settings.IDENTITY_ALLOW_PRIVATE_ISSUERS
    if not url.startswith(("https://", "http://")):
        raise SamlError("The metadata URL must be an https:// URL.")
    problem = endpoint_problem(url, allow_private=allow_private)
    if problem:
        raise SamlError(problem.replace("The base URL", "The metadata URL"))
    transport = httpx.HTTPTransport() if allow_private else PublicAddressTransport()
    try:
        with httpx.Client(transport=transport, timeout=TIMEOUT_S, follow_redirects=False) as client:
            with client.stream("GET", url, headers={"Accept": "application/samlmetadata+xml, application/xml"}) as response:
                if response.is_redirect:
                    raise SamlError(f"The metadata URL redirects to {response.headers.get('location')}; give the final URL.")
                if response.status_code != 200:
                    raise SamlError(f"The metadata URL answered HTTP {response.status_code}.")
                body = b""
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > METADATA_MAX_BYTES:
                        raise SamlError("The metadata at that URL is larger than 1 MB.")
    except httpx.HTTPError as exc:
        raise SamlError(f"The metadata at {url} can't be read ({exc}).") from None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise SamlError("The metadata at that URL isn't UTF-8 XML.") from None


def authn_request(*, entity_id: str, acs_url: str, metadata_xml: str, relay_state: str = "") -> tuple[str, str]:
    """Starts an SP-initiated sign-in with the HTTP-Redirect binding: (request id, URL of the
    identity provider to send the browser to)."""
    from saml2 import BINDING_HTTP_POST
    from saml2.client import Saml2Client

    info = parse_idp_metadata(metadata_xml)
    client = Saml2Client(_config(entity_id=entity_id, acs_url=acs_url, metadata_xml=metadata_xml))
    # `binding` is the one the response must come back with (ProtocolBinding): HTTP-POST to the ACS.
    request_id, request = client.create_authn_request(
        info.sso_url, binding=BINDING_HTTP_POST, assertion_consumer_service_url=acs_url,
    )
    http = client.apply_binding(info.sso_binding, str(request), info.sso_url, relay_state=relay_state)
    return request_id, dict(http["headers"])["Location"]


def _first(ava: dict, names: tuple[str, ...]) -> str:
    for name in names:
        values = ava.get(name)
        if values:
            return str(values[0] if isinstance(values, list) else values).strip()
    return ""


def _why(exc: Exception, entity_id: str) -> str:
    """Words for people about what pysaml2 refused."""
    from saml2.response import IncorrectlySigned, StatusError, UnsolicitedResponse, VerificationError
    from saml2.sigver import SignatureError
    from saml2.validate import ResponseLifetimeExceed, ToEarly

    text = str(exc)
    if isinstance(exc, SignatureError) and "missing" in text.lower():
        return ("The identity provider's assertion is not signed. CoachHub accepts signed assertions only: turn on "
                "assertion signing in your identity provider.")
    if isinstance(exc, SignatureError | IncorrectlySigned):
        return ("The assertion's signature doesn't match the identity provider's certificate: it was altered on the "
                "way, or the certificate changed (re-import the identity provider's metadata).")
    if "AudienceRestrictions" in text:
        return f"The assertion is addressed to another service (its audience isn't this workspace's entity ID {entity_id})."
    if isinstance(exc, ResponseLifetimeExceed | ToEarly) or text == "Condition not OK":
        return "The assertion has expired or isn't valid yet. Sign in again (if it keeps happening, check the server clocks)."
    if isinstance(exc, UnsolicitedResponse):
        return "This response answers a sign-in request this browser didn't make. Start again from the login page."
    if isinstance(exc, StatusError):
        return f"The identity provider reported an error: {text[:200]}"
    if isinstance(exc, VerificationError):
        return f"The assertion can't be verified ({text[:200]})."
    return f"The identity provider's response can't be used ({text[:200]})."


def validate_response(*, entity_id: str, acs_url: str, metadata_xml: str, saml_response: str,
                      outstanding: dict[str, str] | None) -> SamlIdentity:
    """Checks a SAMLResponse posted to the ACS and returns who it signs in, or raises SamlError."""
    from saml2 import BINDING_HTTP_POST
    from saml2.client import Saml2Client
    from saml2.saml import NAMEID_FORMAT_EMAILADDRESS
    from saml2.sigver import SignatureError

    if not saml_response:
        raise SamlError("The identity provider sent no SAMLResponse.")
    try:
        base64.b64decode(saml_response, validate=False)
    except (binascii.Error, ValueError):
        raise SamlError("What was posted isn't a SAML response (not base64).") from None
    info = parse_idp_metadata(metadata_xml)
    destination = _root_attribute(saml_response, "Destination")
    if destination and destination != acs_url:
        raise SamlError(f"The response was sent to {destination}, not to this workspace's assertion consumer service "
                        f"({acs_url}).")
    client = Saml2Client(_config(entity_id=entity_id, acs_url=acs_url, metadata_xml=metadata_xml))
    try:
        response = client.parse_authn_request_response(saml_response, BINDING_HTTP_POST, outstanding=outstanding or {})
    except Exception as exc:
        logger.info("SAML response refused for %s: %r", entity_id, exc)
        raise SamlError(_why(exc, entity_id)) from None
    if response is None or response.assertion is None:
        raise SamlError("The identity provider's response holds no assertion CoachHub can read "
                        "(encrypted assertions aren't supported: turn assertion encryption off).")
    if len(response.response.assertion) != 1:
        raise SamlError("The response must hold exactly one assertion.")
    assertion = response.assertion
    if not getattr(assertion, "signature", None):  # belt and braces: pysaml2 already requires it
        raise SamlError(_why(SignatureError("Signature missing for assertion"), entity_id))
    response_issuer = (response.issuer() or "").strip()
    assertion_issuer = (assertion.issuer.text or "").strip() if assertion.issuer is not None else ""
    for named in (response_issuer, assertion_issuer):
        if named and named != info.entity_id:
            raise SamlError(f"The assertion was issued by {named!r}, not by your identity provider {info.entity_id!r}.")
    ava = response.ava or {}
    name_id = response.name_id
    name_id_text = (name_id.text or "").strip() if name_id is not None else ""
    email = _first(ava, EMAIL_ATTRIBUTES)
    if not email and name_id is not None and (name_id.format == NAMEID_FORMAT_EMAILADDRESS or "@" in name_id_text):
        email = name_id_text
    name = _first(ava, NAME_ATTRIBUTES) or " ".join(
        part for part in (_first(ava, GIVEN_NAME_ATTRIBUTES), _first(ava, SURNAME_ATTRIBUTES)) if part
    )
    groups: list[str] = []
    for attribute in GROUP_ATTRIBUTES:
        groups.extend(str(value) for value in (ava.get(attribute) or []))
    # Kept in the replay cache until it can no longer be accepted anyway (a day when it names no end).
    expires = response.not_on_or_after or 0
    expires_at = (datetime.fromtimestamp(expires + ACCEPTED_CLOCK_SKEW_S, tz=UTC) if expires
                  else datetime.now(tz=UTC) + timedelta(days=1))
    return SamlIdentity(
        email=email.lower(), name=name[:150], groups=groups, name_id=name_id_text, assertion_id=str(assertion.id),
        expires_at=expires_at, in_response_to=response.in_response_to or None, issuer=info.entity_id,
        attributes={key: list(value) for key, value in ava.items()},
    )


def _root_attribute(saml_response: str, name: str) -> str:
    """An attribute of the (unverified) Response element; "" when there is none or it isn't XML."""
    from defusedxml import ElementTree

    try:
        root = ElementTree.fromstring(base64.b64decode(saml_response or "", validate=False))
    except Exception:  # not base64 or not XML: validate_response says so
        return ""
    return str(root.get(name) or "")


def in_response_to(saml_response: str) -> str:
    """The InResponseTo of a posted response, read (not trusted) to find the request it claims to
    answer; pysaml2 then checks the response really answers that request. "" for IdP-initiated."""
    return _root_attribute(saml_response, "InResponseTo")[:255]
