"""Signed ledger checkpoints: Ed25519 over the chain's size and head hash.

An outside party keeps a checkpoint; if the ledger is later rewritten, the chain
recomputed up to the checkpoint's size no longer ends in its head hash.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy.orm import Session

from govdata.platform import audit
from govdata.platform.errors import RuleViolation
from govdata.platform.settings import Settings


def _private_key(settings: Settings) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(settings.checkpoint_key().encode(), None)
    if not isinstance(key, Ed25519PrivateKey):
        raise RuleViolation("检查点密钥必须是 Ed25519 密钥", code="checkpoint_key_invalid")
    return key


def public_key_b64(settings: Settings) -> str:
    raw = _private_key(settings).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return base64.b64encode(raw).decode()


def _signed_bytes(size: int, head_hash: str, signed_at: str) -> bytes:
    return audit.canonical_json({"head": head_hash, "signed_at": signed_at, "size": size}).encode()


def create(session: Session, settings: Settings) -> dict[str, Any]:
    """Verify the whole chain, then sign its size and head. A broken chain is not signed."""
    result = audit.verify(session)
    if not result.ok:
        raise RuleViolation(f"账本校验失败, 不签发检查点: {result.reason}",
                            code="ledger_broken")
    signed_at = audit.timestamp()
    signature = _private_key(settings).sign(_signed_bytes(result.entries, result.head_hash,
                                                          signed_at))
    return {
        "size": result.entries,
        "head": result.head_hash,
        "signed_at": signed_at,
        "algorithm": "Ed25519",
        "public_key": public_key_b64(settings),
        "signature": base64.b64encode(signature).decode(),
    }


def check(session: Session, settings: Settings, checkpoint: dict[str, Any]) -> audit.Verification:
    """Check the checkpoint's signature with our key, then that the ledger still
    has the same first ``size`` entries."""
    try:
        size, head = int(checkpoint["size"]), str(checkpoint["head"])
        signature = base64.b64decode(checkpoint["signature"])
        payload = _signed_bytes(size, head, str(checkpoint["signed_at"]))
    except (KeyError, ValueError, TypeError) as exc:
        raise RuleViolation(f"检查点文件格式不正确: {exc}", code="checkpoint_malformed") from None
    public: Ed25519PublicKey = _private_key(settings).public_key()
    try:
        public.verify(signature, payload)
    except InvalidSignature:
        raise RuleViolation("检查点签名无效", code="checkpoint_signature_invalid") from None
    result = audit.verify(session, upto=size)
    if not result.ok:
        return result
    if result.entries < size:
        return audit.Verification(False, result.entries, result.head_hash, result.entries + 1,
                                  f"账本比检查点短: {result.entries} < {size} (entries removed)")
    if result.head_hash != head:
        return audit.Verification(False, result.entries, result.head_hash, None,
                                  "检查点之前的账本已被改写 (prefix rewritten)")
    return result


def dumps(checkpoint: dict[str, Any]) -> str:
    return json.dumps(checkpoint, ensure_ascii=False, indent=2) + "\n"
