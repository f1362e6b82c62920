"""The token matrix: every way a bearer token can be wrong is a 401 with its own code."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jose import jwt

from govdata.platform import service, tokens


def claims_for(settings, **overrides):
    now = int(dt.datetime.now(dt.UTC).timestamp())
    claims = {"iss": settings.token_issuer, "aud": settings.token_audience, "sub": "alice",
              "dept": "d1", "roles": ["requester"], "iat": now, "nbf": now, "exp": now + 600,
              "jti": "j-" + str(now)}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def sign(settings, claims, key=None, algorithm="ES256"):
    return jwt.encode(claims, key or settings.jwt_private_key, algorithm=algorithm)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def me(client, token):
    return client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})


def assert_401(response, code):
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code
    assert body["status"] == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_valid_token_is_accepted(client, make_user, token_for):
    user = make_user("steward")
    response = me(client, token_for(user))
    assert response.status_code == 200
    assert response.json()["username"] == user
    assert response.json()["roles"] == ["steward"]


def test_issued_token_carries_every_claim(settings):
    issued = tokens.issue(settings, subject="alice", department="d1", roles=["auditor"])
    claims = jwt.get_unverified_claims(issued.token)
    assert {"iss", "aud", "exp", "iat", "jti", "sub", "dept", "roles"} <= set(claims)
    assert jwt.get_unverified_header(issued.token)["alg"] == "ES256"


def test_missing_token(client):
    assert_401(client.get("/api/v1/auth/me"), "token_missing")


@pytest.mark.parametrize("header", ["Bearer", "Basic abc", "Bearer not.a.jwt", "Bearer a.b",
                                    "Bearer ....", "Bearer %%%"])
def test_malformed_token(client, header):
    response = client.get("/api/v1/auth/me", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["code"] == "token_malformed"


def test_expired_token(client, settings):
    past = int(dt.datetime.now(dt.UTC).timestamp()) - 7200
    token = sign(settings, claims_for(settings, iat=past, nbf=past, exp=past + 60))
    assert_401(me(client, token), "token_expired")


def test_not_yet_valid_token(client, settings):
    future = int(dt.datetime.now(dt.UTC).timestamp()) + 3600
    token = sign(settings, claims_for(settings, nbf=future, exp=future + 600))
    assert_401(me(client, token), "token_not_yet_valid")


def test_token_issued_in_the_future(client, settings):
    future = int(dt.datetime.now(dt.UTC).timestamp()) + 3600
    token = sign(settings, claims_for(settings, iat=future, nbf=None, exp=future + 600))
    assert_401(me(client, token), "token_not_yet_valid")


def test_wrong_signature(client, settings):
    other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    assert_401(me(client, sign(settings, claims_for(settings), key=other)), "token_bad_signature")


def test_tampered_payload(client, settings):
    header, _, signature = sign(settings, claims_for(settings)).split(".")
    payload = b64(json.dumps(claims_for(settings, roles=["admin"])).encode())
    assert_401(me(client, f"{header}.{payload}.{signature}"), "token_bad_signature")


def test_wrong_issuer(client, settings):
    assert_401(me(client, sign(settings, claims_for(settings, iss="evil"))), "token_wrong_issuer")


def test_wrong_audience(client, settings):
    token = sign(settings, claims_for(settings, aud="another-api"))
    assert_401(me(client, token), "token_wrong_audience")


def test_alg_none(client, settings):
    header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = b64(json.dumps(claims_for(settings)).encode())
    assert_401(me(client, f"{header}.{payload}."), "token_algorithm_refused")


def test_algorithm_confusion_hs256_with_public_key(client, settings):
    """The classic attack: HMAC-sign with the server's public key as the secret."""
    public_pem = tokens.public_key_pem(settings.jwt_private_key)
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64(json.dumps(claims_for(settings)).encode())
    import hashlib
    import hmac

    mac = hmac.new(public_pem.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    assert_401(me(client, f"{header}.{payload}.{b64(mac)}"), "token_algorithm_refused")


def test_missing_claims(client, settings):
    assert_401(me(client, sign(settings, claims_for(settings, jti=None))), "token_invalid_claims")


def test_revoked_token(client, session, settings, make_user):
    from tests.conftest import SYSTEM

    user = service.get_user(session, make_user("requester"))
    issued = service.issue_token(session, settings, user=user)
    assert me(client, issued.token).status_code == 200
    service.revoke_token(session, SYSTEM, jti=issued.jti)
    assert_401(me(client, issued.token), "token_revoked")


def test_right_token_without_the_role_is_403(client, make_user, auth):
    user = make_user("requester")
    response = client.get("/api/v1/audit/events", headers=auth(user))
    assert response.status_code == 403
    assert response.json()["code"] == "role_required"
    response = client.post("/api/v1/users", headers=auth(user),
                           json={"username": "x1", "department_code": "d", "roles": ["admin"]})
    assert response.status_code == 403
