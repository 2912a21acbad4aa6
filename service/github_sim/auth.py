"""Who is calling: personal tokens, installation tokens and App JWTs, checked as GitHub does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

import jwt

from service.github_sim.models import Account, InstallationToken
from service.github_sim.world import SimError, World

# GitHub rejects App JWTs whose exp is more than 10 minutes ahead, and tolerates a little clock
# drift (its docs suggest backdating iat by 60 s).
MAX_JWT_LIFETIME = timedelta(minutes=10)
CLOCK_DRIFT = timedelta(seconds=60)

PrincipalKind = Literal["anonymous", "user", "installation", "app"]


@dataclass(frozen=True)
class Principal:
    kind: PrincipalKind
    account: Account | None = None
    installation_id: int | None = None
    token: InstallationToken | None = None

    @property
    def rate_key(self) -> str:
        if self.kind == "installation":
            return f"installation:{self.installation_id}"
        if self.account is not None:
            return f"{self.kind}:{self.account.id}"
        return self.kind


def bad_credentials() -> SimError:
    return SimError(401, "Bad credentials")


def requires_authentication() -> SimError:
    return SimError(401, "Requires authentication")


def parse_authorization(header: str | None) -> str | None:
    """The credential from `Authorization: token X` or `Bearer X`; GitHub accepts both."""
    if header is None or not header.strip():
        return None
    scheme, _, credential = header.strip().partition(" ")
    if scheme.lower() not in ("token", "bearer") or not credential.strip():
        raise bad_credentials()
    return credential.strip()


def looks_like_jwt(credential: str) -> bool:
    return credential.count(".") == 2 and credential.startswith("ey")


def verify_app_jwt(world: World, credential: str) -> None:
    """Raise 401 unless the JWT is RS256, signed by the App's key, for this App, and current."""
    if world.app is None or world.app.public_key_pem is None:
        raise SimError(401, "A JSON web token could not be decoded")
    try:
        claims = jwt.decode(
            credential,
            world.app.public_key_pem,
            algorithms=["RS256"],
            options={"verify_exp": False, "verify_iat": False, "require": ["iat", "exp", "iss"]},
        )
    except jwt.PyJWTError as error:
        raise SimError(401, "A JSON web token could not be decoded") from error
    if str(claims["iss"]) != str(world.app.app_id):
        raise SimError(401, "'Issuer' claim ('iss') must be an Integer")
    now = world.now().timestamp()
    issued_at, expires_at = float(claims["iat"]), float(claims["exp"])
    if issued_at > now + CLOCK_DRIFT.total_seconds():
        raise SimError(
            401, "'Issued at' claim ('iat') must be an Integer representing a time in the past"
        )
    if expires_at <= now - CLOCK_DRIFT.total_seconds():
        raise SimError(
            401,
            "'Expiration time' claim ('exp') must be a numeric value representing the future time"
            " at which the assertion expires",
        )
    if expires_at > now + MAX_JWT_LIFETIME.total_seconds() + CLOCK_DRIFT.total_seconds():
        raise SimError(401, "'Expiration time' claim ('exp') is too far in the future")


def resolve_principal(world: World, authorization: str | None) -> Principal:
    credential = parse_authorization(authorization)
    if credential is None:
        return Principal(kind="anonymous")
    account_id = world.data.user_tokens.get(credential)
    if account_id is not None:
        return Principal(kind="user", account=world.account(account_id))
    issued = world.data.installation_tokens.get(credential)
    if issued is not None:
        if issued.expires_at <= world.now():
            raise bad_credentials()
        return Principal(
            kind="installation",
            account=world.bot_account(),
            installation_id=issued.installation_id,
            token=issued,
        )
    if looks_like_jwt(credential):
        verify_app_jwt(world, credential)
        return Principal(kind="app")
    raise bad_credentials()
