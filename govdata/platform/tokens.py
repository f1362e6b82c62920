"""JWT access tokens (python-jose, ES256): issue them, and read them strictly.

Every way a token can be wrong has its own stable error code, so a caller can tell
an expired token from a forged one.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives import serialization
from jose import jws, jwt
from jose.exceptions import ExpiredSignatureError, JWSError, JWTClaimsError, JWTError

from govdata.platform.errors import Unauthorized
from govdata.platform.settings import Settings

REQUIRED_CLAIMS = ("iss", "aud", "exp", "iat", "jti", "sub", "dept", "roles")
CLOCK_SKEW_SECONDS = 30


@dataclass(frozen=True)
class IssuedToken:
    token: str
    jti: str
    expires_at: dt.datetime


@lru_cache
def public_key_pem(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def issue(
    settings: Settings,
    *,
    subject: str,
    department: str,
    roles: list[str],
    ttl: dt.timedelta | None = None,
    now: dt.datetime | None = None,
) -> IssuedToken:
    now = now or dt.datetime.now(dt.UTC)
    expires = now + (ttl or dt.timedelta(seconds=settings.token_ttl_seconds))
    jti = uuid.uuid4().hex
    claims = {
        "iss": settings.token_issuer,
        "aud": settings.token_audience,
        "sub": subject,
        "dept": department,
        "roles": sorted(roles),
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int(expires.timestamp()),
        "jti": jti,
    }
    token = jwt.encode(claims, settings.signing_key(), algorithm=settings.jwt_algorithm)
    return IssuedToken(token=token, jti=jti, expires_at=expires)


def read(settings: Settings, token: str) -> dict:
    """Verify a token's signature and claims; raise ``Unauthorized`` with the precise reason."""
    try:
        header = jws.get_unverified_header(token)
    except (JWSError, JWTError):
        raise Unauthorized("令牌格式不正确 (malformed token)", code="token_malformed") from None
    if header.get("alg") != settings.jwt_algorithm:
        raise Unauthorized(
            f"不接受的签名算法 {header.get('alg')!r} (only {settings.jwt_algorithm})",
            code="token_algorithm_refused",
        )
    try:
        claims = jwt.decode(
            token,
            public_key_pem(settings.signing_key()),
            algorithms=[settings.jwt_algorithm],
            audience=settings.token_audience,
            issuer=settings.token_issuer,
            options={"leeway": CLOCK_SKEW_SECONDS, "require_exp": True},
        )
    except ExpiredSignatureError:
        raise Unauthorized("令牌已过期 (token expired)", code="token_expired") from None
    except JWTClaimsError as exc:
        detail, code = _claims_error(str(exc))
        raise Unauthorized(detail, code=code) from None
    except JWTError as exc:
        if "Signature verification failed" in str(exc):
            raise Unauthorized("令牌签名无效 (bad signature)", code="token_bad_signature") from None
        raise Unauthorized("令牌无法解析 (malformed token)", code="token_malformed") from None
    _check_claims(claims)
    return claims


def _claims_error(message: str) -> tuple[str, str]:
    if "issuer" in message:
        return "令牌签发者不符 (wrong issuer)", "token_wrong_issuer"
    if "audience" in message:
        return "令牌受众不符 (wrong audience)", "token_wrong_audience"
    if "not yet valid" in message:
        return "令牌尚未生效 (not yet valid)", "token_not_yet_valid"
    return f"令牌声明无效: {message}", "token_invalid_claims"


def _check_claims(claims: dict) -> None:
    missing = [name for name in REQUIRED_CLAIMS if name not in claims]
    if missing:
        raise Unauthorized(f"令牌缺少声明: {', '.join(missing)}", code="token_invalid_claims")
    now = dt.datetime.now(dt.UTC).timestamp()
    if claims["iat"] > now + CLOCK_SKEW_SECONDS:
        raise Unauthorized("令牌尚未生效 (issued in the future)", code="token_not_yet_valid")
    if not isinstance(claims["roles"], list) or not isinstance(claims["sub"], str):
        raise Unauthorized("令牌声明格式不正确", code="token_invalid_claims")
