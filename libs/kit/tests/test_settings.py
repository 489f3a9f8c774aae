"""ServiceSettings: configuration comes from MARQUE_* variables; production refuses dev secrets."""

from __future__ import annotations

import os

import pytest
from pydantic import ValidationError
from pydantic_settings import SettingsConfigDict

from marque_kit.settings import DEV_INTERNAL_SECRET, DEV_PII_KEY, ServiceSettings

REAL_SECRET = "prod-internal-secret-" + "k" * 32
REAL_PII_KEY = "prod-pii-key-" + "p" * 32
REAL_AMQP = "amqp://marque:s3cret@rabbit.internal:5672/"


class WorkshopSettings(ServiceSettings):
    """A service's own settings, shaped like InventorySettings: its prefix plus the shared knobs."""

    model_config = SettingsConfigDict(env_prefix="MARQUE_WORKSHOP_", extra="ignore")

    service: str = "workshop"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/marque_workshop"
    http_port: int = 8199
    bay_count: int = 4


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the developer's shell exports must not leak into these tests."""
    for name in list(os.environ):
        if name.startswith("MARQUE_") or name in ("ENV", "AMQP_URL", "INTERNAL_SECRET"):
            monkeypatch.delenv(name)


def production(monkeypatch: pytest.MonkeyPatch, **overrides: str) -> None:
    values = {
        "MARQUE_ENV": "production",
        "MARQUE_INTERNAL_SECRET": REAL_SECRET,
        "MARQUE_PII_KEY": REAL_PII_KEY,
        "MARQUE_AMQP_URL": REAL_AMQP,
        **overrides,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def test_defaults_are_the_development_ones() -> None:
    settings = ServiceSettings()

    assert settings.env == "development"
    assert settings.internal_secret == DEV_INTERNAL_SECRET
    assert settings.pii_key == DEV_PII_KEY
    assert settings.amqp_url == "amqp://guest:guest@127.0.0.1:5672/"
    assert settings.exchange_name("inventory") == "marque.inventory"


def test_shared_variables_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARQUE_ENV", "test")
    monkeypatch.setenv("MARQUE_AMQP_URL", "amqp://u:p@broker:5672/vh")
    monkeypatch.setenv("MARQUE_AMQP_NAMESPACE", "run42.")
    monkeypatch.setenv("MARQUE_LOG_LEVEL", "DEBUG")

    settings = ServiceSettings()

    assert settings.env == "test"
    assert settings.amqp_url == "amqp://u:p@broker:5672/vh"
    assert settings.amqp_namespace == "run42."
    assert settings.log_level == "DEBUG"
    assert settings.exchange_name("crm") == "run42.marque.crm"


def test_service_prefixed_variables_reach_the_subclass(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARQUE_WORKSHOP_DATABASE_URL", "postgresql+asyncpg://db/marque_workshop")
    monkeypatch.setenv("MARQUE_WORKSHOP_HTTP_PORT", "9999")
    monkeypatch.setenv("MARQUE_WORKSHOP_BAY_COUNT", "12")
    monkeypatch.setenv("MARQUE_WORKSHOP_RETRY_DELAYS", "[0.5, 2]")
    monkeypatch.setenv("MARQUE_AMQP_URL", "amqp://u:p@broker:5672/")

    settings = WorkshopSettings()

    assert settings.service == "workshop"
    assert settings.database_url == "postgresql+asyncpg://db/marque_workshop"
    assert settings.http_port == 9999
    assert settings.bay_count == 12
    assert settings.retry_delays == [0.5, 2.0]
    # The shared knobs keep their unprefixed MARQUE_ name in every service.
    assert settings.amqp_url == "amqp://u:p@broker:5672/"


def test_bare_or_wrongly_prefixed_names_are_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    # ENV is a POSIX shell variable; it must never switch Marque into production.
    monkeypatch.setenv("ENV", "production")
    monkeypatch.setenv("AMQP_URL", "amqp://elsewhere:5672/")
    monkeypatch.setenv("INTERNAL_SECRET", REAL_SECRET)
    monkeypatch.setenv("HTTP_PORT", "1234")
    monkeypatch.setenv("MARQUE_OTHER_HTTP_PORT", "1234")

    for settings in (ServiceSettings(), WorkshopSettings()):
        assert settings.env == "development"
        assert settings.amqp_url == "amqp://guest:guest@127.0.0.1:5672/"
        assert settings.internal_secret == DEV_INTERNAL_SECRET
    assert ServiceSettings().http_port == 8000
    assert WorkshopSettings().http_port == 8199


def test_production_refuses_the_dev_internal_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    production(monkeypatch, MARQUE_INTERNAL_SECRET=DEV_INTERNAL_SECRET)

    with pytest.raises(ValidationError) as refused:
        WorkshopSettings()

    assert "MARQUE_INTERNAL_SECRET" in str(refused.value)
    assert "MARQUE_PII_KEY" not in str(refused.value)


def test_production_refuses_the_dev_pii_key(monkeypatch: pytest.MonkeyPatch) -> None:
    production(monkeypatch, MARQUE_PII_KEY=DEV_PII_KEY)

    with pytest.raises(ValidationError) as refused:
        ServiceSettings()

    assert "MARQUE_PII_KEY" in str(refused.value)
    assert "MARQUE_INTERNAL_SECRET" not in str(refused.value)


def test_production_refuses_short_secrets_and_names_each(monkeypatch: pytest.MonkeyPatch) -> None:
    production(monkeypatch, MARQUE_INTERNAL_SECRET="s" * 31, MARQUE_PII_KEY="short")

    with pytest.raises(ValidationError) as refused:
        ServiceSettings()

    message = str(refused.value)
    assert "MARQUE_INTERNAL_SECRET" in message
    assert "MARQUE_PII_KEY" in message
    assert "32+ characters" in message


def test_production_refuses_secrets_left_at_their_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARQUE_ENV", "production")
    monkeypatch.setenv("MARQUE_AMQP_URL", REAL_AMQP)

    with pytest.raises(ValidationError) as refused:
        WorkshopSettings()

    assert "MARQUE_INTERNAL_SECRET, MARQUE_PII_KEY" in str(refused.value)


def test_production_refuses_the_guest_broker_account(monkeypatch: pytest.MonkeyPatch) -> None:
    production(monkeypatch, MARQUE_AMQP_URL="amqp://guest:guest@rabbit:5672/")

    with pytest.raises(ValidationError) as refused:
        ServiceSettings()

    assert "MARQUE_AMQP_URL" in str(refused.value)
    assert "guest" in str(refused.value)


def test_production_with_real_secrets_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    production(monkeypatch)

    settings = WorkshopSettings()

    assert settings.env == "production"
    assert settings.internal_secret == REAL_SECRET
    assert settings.pii_key == REAL_PII_KEY
    assert settings.amqp_url == REAL_AMQP


@pytest.mark.parametrize("env", ["development", "test"])
def test_dev_secrets_are_fine_outside_production(monkeypatch: pytest.MonkeyPatch, env: str) -> None:
    monkeypatch.setenv("MARQUE_ENV", env)

    assert ServiceSettings().internal_secret == DEV_INTERNAL_SECRET


def test_an_unknown_environment_name_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARQUE_ENV", "prod")

    with pytest.raises(ValidationError) as refused:
        ServiceSettings()

    assert "production" in str(refused.value)
