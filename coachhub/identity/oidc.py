"""OpenID Connect relying party on Authlib: discovery, the authorization request with PKCE (S256),
state and nonce, the code exchange; the ID token is checked with joserfc (Authlib's JOSE library)
against the provider's JWKS: signature, issuer, audience, expiry and nonce.

Nothing here touches the database; `services.oidc_sign_in` decides what a validated identity means."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from django.conf import settings
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from coachhub.core.llm import endpoint_problem

TIMEOUT_S = 10


class OidcError(Exception):
    """The provider or its answer can't be used; the message says why, for the person signing in."""


@dataclass
class Discovery:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None


def issuer_problem(issuer: str) -> str | None:
    if not issuer.startswith(("https://", "http://")):
        return "The issuer must be an https:// URL."
    return endpoint_problem(issuer, allow_private=settings.IDENTITY_ALLOW_PRIVATE_ISSUERS)


def discover(issuer: str) -> Discovery:
    problem = issuer_problem(issuer)
    if problem:
        raise OidcError(problem)
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=TIMEOUT_S, allow_redirects=False)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise OidcError(f"The identity provider's discovery document at {url} can't be read ({exc}).") from None
    if document.get("issuer", "").rstrip("/") != issuer.rstrip("/"):
        raise OidcError(f"The discovery document names issuer {document.get('issuer')!r}, not {issuer!r}.")
    try:
        return Discovery(
            issuer=document["issuer"], authorization_endpoint=document["authorization_endpoint"],
            token_endpoint=document["token_endpoint"], jwks_uri=document["jwks_uri"],
            userinfo_endpoint=document.get("userinfo_endpoint"),
        )
    except KeyError as exc:
        raise OidcError(f"The discovery document lacks {exc.args[0]}.") from None


def authorization_request(*, discovery: Discovery, client_id: str, redirect_uri: str, login_hint: str = "") -> tuple[str, dict]:
    """The URL to send the browser to, and what the callback must find in the session."""
    state, nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(24), generate_token(64)
    session = OAuth2Session(client_id, scope="openid email profile", redirect_uri=redirect_uri,
                            code_challenge_method="S256")
    extra = {"login_hint": login_hint} if login_hint else {}
    url, _ = session.create_authorization_url(
        discovery.authorization_endpoint, state=state, nonce=nonce, code_verifier=verifier, **extra
    )
    return url, {"state": state, "nonce": nonce, "code_verifier": verifier}


def exchange_and_validate(
    *, discovery: Discovery, client_id: str, client_secret: str, redirect_uri: str, code: str, pending: dict
) -> dict[str, Any]:
    """Redeems the code (with the PKCE verifier), validates the ID token and merges userinfo."""
    session = OAuth2Session(client_id, client_secret, redirect_uri=redirect_uri, code_challenge_method="S256",
                            token_endpoint_auth_method="client_secret_basic" if client_secret else "none")
    try:
        token = session.fetch_token(discovery.token_endpoint, code=code, code_verifier=pending["code_verifier"],
                                    timeout=TIMEOUT_S)
    except Exception as exc:  # Authlib raises OAuthError and requests errors alike
        raise OidcError(f"The identity provider refused the sign-in code ({exc}).") from None
    id_token = token.get("id_token")
    if not id_token:
        raise OidcError("The identity provider returned no ID token.")
    try:
        keys = KeySet.import_key_set(requests.get(discovery.jwks_uri, timeout=TIMEOUT_S).json())
        decoded = jwt.decode(id_token, keys)
        jwt.JWTClaimsRegistry(
            leeway=60,
            iss={"essential": True, "value": discovery.issuer},
            aud={"essential": True, "value": client_id},
            sub={"essential": True},
            exp={"essential": True},
            nonce={"essential": True, "value": pending["nonce"]},
        ).validate(decoded.claims)
    except (JoseError, requests.RequestException, ValueError) as exc:
        raise OidcError(f"The identity provider's ID token is not valid ({exc}).") from None
    claims = decoded.claims
    identity = dict(claims)
    if discovery.userinfo_endpoint and token.get("access_token"):
        try:
            info = session.get(discovery.userinfo_endpoint, timeout=TIMEOUT_S).json()
        except (requests.RequestException, ValueError):
            info = {}
        if info.get("sub") == identity.get("sub"):
            identity = {**info, **identity}
            for key in ("email", "email_verified", "name", "groups"):
                if key in info:
                    identity[key] = info[key]
    return identity
