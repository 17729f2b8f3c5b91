"""Settings from ``UNIONCARD_*``: embedded defaults, generated keys, production refusals."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from cardsvc.kernel.settings import Settings, SettingsError, parse_data_keys


def key_b64(byte: bytes = b"a") -> str:
    return base64.urlsafe_b64encode(byte * 32).decode()


STRONG_SECRET = "s" * 48
STRONG_LOOKUP = "l" * 48


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """A clean environment: no UNIONCARD_* variable, the var folder in tmp_path."""
    for name in list(os.environ):
        if name.startswith("UNIONCARD_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("UNIONCARD_VAR_DIR", str(tmp_path / "var"))
    return monkeypatch


def production(env: pytest.MonkeyPatch, **values: str) -> None:
    env.setenv("UNIONCARD_ENVIRONMENT", "production")
    for name, value in values.items():
        env.setenv(f"UNIONCARD_{name}", value)


# ----------------------------------------------------------------- embedded


def test_embedded_defaults_generate_keys_with_mode_0600(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    s = Settings.from_env()
    keyfile = tmp_path / "var" / "keys.json"
    assert keyfile.exists()
    assert stat.S_IMODE(keyfile.stat().st_mode) == 0o600
    assert s.demo_secrets and not s.production
    assert s.database_url == f"sqlite+aiosqlite:///{tmp_path / 'var' / 'unioncard.db'}"
    assert s.redis_url is None
    assert len(next(iter(s.data_keys.values()))) == 32
    assert len(s.secret_key) >= 32 and len(s.lookup_key) >= 32
    data = json.loads(keyfile.read_text())
    assert data["secret_key"] == s.secret_key
    # A second start reuses the same keys: data encrypted yesterday still decrypts.
    again = Settings.from_env()
    assert again.data_keys == s.data_keys and again.secret_key == s.secret_key
    assert again.lookup_key == s.lookup_key


def test_environment_values_are_read(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env.setenv("UNIONCARD_DATABASE_URL", "postgresql://u:p@db:5432/uc")
    env.setenv("UNIONCARD_REDIS_URL", "redis://cache:6379/0")
    env.setenv("UNIONCARD_PORT", "9000")
    env.setenv("UNIONCARD_LOGIN_PAIR_LIMITS", "3/60, 6/3600")
    secret_file = tmp_path / "secret"
    secret_file.write_text(STRONG_SECRET + "\n")
    env.setenv("UNIONCARD_SECRET_KEY_FILE", str(secret_file))
    s = Settings.from_env()
    assert s.database_url == "postgresql+asyncpg://u:p@db:5432/uc"
    assert s.redis_url == "redis://cache:6379/0"
    assert s.port == 9000 and s.login_pair_limits == ((3, 60), (6, 3600))
    assert s.secret_key == STRONG_SECRET  # from the *_FILE variable, stripped


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORT", "eighty"),
        ("LOG_FORMAT", "xml"),
        ("ENVIRONMENT", "staging"),
        ("LOGIN_PAIR_LIMITS", "5 per minute"),
        ("LOGIN_ADDRESS_LIMITS", "0/60"),
    ],
)
def test_bad_values_are_refused_naming_the_variable(
    env: pytest.MonkeyPatch, name: str, value: str
) -> None:
    env.setenv(f"UNIONCARD_{name}", value)
    with pytest.raises(SettingsError, match=f"UNIONCARD_{name}"):
        Settings.from_env()


# ----------------------------------------------------------------- production


def test_production_without_secrets_refuses_naming_them(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    production(env)
    with pytest.raises(SettingsError) as err:
        Settings.from_env()
    for name in ("UNIONCARD_SECRET_KEY", "UNIONCARD_DATA_KEYS", "UNIONCARD_LOOKUP_KEY"):
        assert name in str(err.value)
    # It did not quietly generate demo keys either.
    assert not (tmp_path / "var" / "keys.json").exists()


def test_production_names_only_the_missing_secret(env: pytest.MonkeyPatch) -> None:
    production(env, SECRET_KEY=STRONG_SECRET, DATA_KEYS="p1:" + key_b64())
    with pytest.raises(SettingsError) as err:
        Settings.from_env()
    assert "UNIONCARD_LOOKUP_KEY" in str(err.value)
    assert "UNIONCARD_SECRET_KEY" not in str(err.value)


def test_production_with_real_secrets_starts(env: pytest.MonkeyPatch) -> None:
    production(
        env,
        SECRET_KEY=STRONG_SECRET,
        DATA_KEYS=f"p2:{key_b64(b'b')},p1:{key_b64()}",
        LOOKUP_KEY=STRONG_LOOKUP,
    )
    s = Settings.from_env()
    assert s.production and not s.demo_secrets
    assert s.active_data_key_id == "p2" and set(s.data_keys) == {"p1", "p2"}
    assert s.secure_cookies  # production default


def test_production_refuses_short_secrets(env: pytest.MonkeyPatch) -> None:
    production(env, SECRET_KEY="short", DATA_KEYS="p1:" + key_b64(), LOOKUP_KEY=STRONG_LOOKUP)
    with pytest.raises(SettingsError, match="UNIONCARD_SECRET_KEY"):
        Settings.from_env()


def test_production_refuses_the_demo_secret_key(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    demo = Settings.from_env()  # embedded start writes var/keys.json
    production(
        env, SECRET_KEY=demo.secret_key, DATA_KEYS="p1:" + key_b64(), LOOKUP_KEY=STRONG_LOOKUP
    )
    with pytest.raises(SettingsError, match="demo"):
        Settings.from_env()


@pytest.mark.parametrize("which", ["DATA_KEYS", "LOOKUP_KEY"])
def test_production_refuses_the_demo_data_and_lookup_keys(
    env: pytest.MonkeyPatch, tmp_path: Path, which: str
) -> None:
    Settings.from_env()
    demo = json.loads((tmp_path / "var" / "keys.json").read_text())
    values = {
        "SECRET_KEY": STRONG_SECRET,
        "DATA_KEYS": "p1:" + key_b64(),
        "LOOKUP_KEY": STRONG_LOOKUP,
    }
    values[which] = demo[which.lower()]
    production(env, **values)
    try:
        Settings.from_env()
    except SettingsError:
        return
    pytest.fail(f"production started with the demo {which}")


# ----------------------------------------------------------------- data keys


def test_parse_data_keys_keeps_order_first_encrypts() -> None:
    keys = parse_data_keys(f"new:{key_b64(b'n')}, old:{key_b64(b'o')}")
    assert list(keys) == ["new", "old"]
    assert keys["new"] == b"n" * 32
    # Standard base64 and missing padding are accepted too.
    std = base64.b64encode(b"\xfb" * 32).decode().rstrip("=")
    assert "+" in std or "/" in std
    assert parse_data_keys(f"k1:{std}")["k1"] == b"\xfb" * 32


@pytest.mark.parametrize(
    "raw",
    [
        "",  # nothing
        key_b64(),  # no kid
        "d-1:" + key_b64(),  # kid not alphanumeric
        "d1:" + base64.urlsafe_b64encode(b"x" * 16).decode(),  # 16-byte key
        "d1:" + key_b64() + ",d2",  # second entry malformed
    ],
)
def test_bad_data_keys_are_refused(raw: str) -> None:
    with pytest.raises(SettingsError, match="UNIONCARD_DATA_KEYS"):
        parse_data_keys(raw)


@pytest.mark.parametrize("raw", ["d1:a", "d1:abcde"])
def test_undecodable_data_key_is_a_settings_error(raw: str) -> None:
    with pytest.raises(SettingsError, match="UNIONCARD_DATA_KEYS"):
        parse_data_keys(raw)


def test_bad_data_keys_in_the_environment(env: pytest.MonkeyPatch) -> None:
    env.setenv("UNIONCARD_SECRET_KEY", STRONG_SECRET)
    env.setenv("UNIONCARD_LOOKUP_KEY", STRONG_LOOKUP)
    env.setenv("UNIONCARD_DATA_KEYS", "just-a-string")
    with pytest.raises(SettingsError, match="UNIONCARD_DATA_KEYS"):
        Settings.from_env()
