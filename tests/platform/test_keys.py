"""Signing keys are generated on first start, kept private and reused (issue 7, item 2)."""

from __future__ import annotations

import stat
from pathlib import Path

from govdata.platform import tokens
from govdata.platform.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def fresh(key_dir: Path) -> Settings:
    return Settings(env="development", key_dir=str(key_dir), jwt_private_key=None,
                    checkpoint_private_key=None)


def test_keys_are_generated_once_private_and_reused(tmp_path):
    key_dir = tmp_path / "keys"
    first = fresh(key_dir)
    files = sorted(path.name for path in key_dir.iterdir())
    assert files == ["checkpoint-ed25519.pem", "jwt-es256.pem"]
    for path in key_dir.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = fresh(key_dir)
    assert again.jwt_private_key == first.jwt_private_key
    assert again.checkpoint_private_key == first.checkpoint_private_key
    other = fresh(tmp_path / "elsewhere")
    assert other.jwt_private_key != first.jwt_private_key
    issued = tokens.issue(first, subject="a", department="d", roles=["requester"])
    assert tokens.read(again, issued.token)["sub"] == "a"


def test_no_private_key_in_the_package():
    holding = [path.name for path in (ROOT / "govdata").rglob("*.py")
               if "PRIVATE KEY-----" in path.read_text(encoding="utf-8")]
    assert holding == []
