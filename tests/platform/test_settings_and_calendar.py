from __future__ import annotations

import datetime as dt

import pytest

from govdata.main import create_app
from govdata.platform.settings import ConfigurationError, Settings
from govdata.platform.workdays import WorkCalendar


def test_production_requires_configured_keys(tmp_path):
    unset = {"jwt_private_key": None, "checkpoint_private_key": None}
    with pytest.raises(ConfigurationError, match="GOVDATA_JWT_PRIVATE_KEY"):
        Settings(env="production", key_dir=str(tmp_path), **unset).check_startable()
    with pytest.raises(ConfigurationError):
        create_app(Settings(env="production", database_url="sqlite:///:memory:", **unset))
    assert not any(tmp_path.iterdir())  # production generates nothing


def test_production_starts_on_its_own_keys():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519

    def pem(key):
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()).decode()

    Settings(env="production", jwt_private_key=pem(ec.generate_private_key(ec.SECP256R1())),
             checkpoint_private_key=pem(ed25519.Ed25519PrivateKey.generate())).check_startable()


def test_settings_read_from_environment(monkeypatch):
    monkeypatch.setenv("GOVDATA_HOLIDAYS", "2026-10-01, 2026-10-02")
    monkeypatch.setenv("GOVDATA_SHARE_REPLY_WORKING_DAYS", "7")
    settings = Settings()
    assert settings.holidays == [dt.date(2026, 10, 1), dt.date(2026, 10, 2)]
    assert settings.share_reply_working_days == 7


def test_working_days_skip_weekends_and_holidays():
    calendar = WorkCalendar(holidays=frozenset({dt.date(2026, 10, 1), dt.date(2026, 10, 2)}),
                            extra_workdays=frozenset({dt.date(2026, 10, 10)}))
    # Wed 2026-09-30 + 1 working day: Thu 10-01 and Fri 10-02 are holidays → Mon 10-05.
    assert calendar.add_working_days(dt.date(2026, 9, 30), 1) == dt.date(2026, 10, 5)
    # Sat 2026-10-10 is a make-up working day (调休).
    assert calendar.is_working_day(dt.date(2026, 10, 10))
    assert calendar.add_working_days(dt.date(2026, 10, 9), 1) == dt.date(2026, 10, 10)
    # 10 working days (国发〔2016〕51号) from Mon 2026-11-23 → Mon 2026-12-07.
    assert WorkCalendar().add_working_days(dt.date(2026, 11, 23), 10) == dt.date(2026, 12, 7)
    assert WorkCalendar().working_days_between(dt.date(2026, 11, 23), dt.date(2026, 12, 7)) == 10
