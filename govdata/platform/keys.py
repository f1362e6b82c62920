"""Signing keys generated on a server's first start, kept in files only its owner reads.

Outside production a key that is not configured is read from the key directory, or
generated there on first start (mode 0600) and reused afterwards. Several processes
starting at once agree on one key: the first to link its file in place wins.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

JWT_KEY_FILE = "jwt-es256.pem"
CHECKPOINT_KEY_FILE = "checkpoint-ed25519.pem"


def _generate(kind: str) -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519

    key = (ec.generate_private_key(ec.SECP256R1()) if kind == "ec"
           else ed25519.Ed25519PrivateKey.generate())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def load_or_create(directory: Path, name: str, kind: str) -> str:
    """The PEM in ``directory/name``, generated (``kind`` ``ec`` P-256 or ``ed25519``) if
    it does not exist yet."""
    path = directory / name
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{name}.")  # mode 0600
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(_generate(kind))
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process started at the same moment: its key is the one
        finally:
            os.unlink(temporary)
    return path.read_text(encoding="ascii")
