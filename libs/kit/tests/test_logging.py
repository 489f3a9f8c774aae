"""configure_logging: one JSON object per line, carrying the request's context."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from marque_kit.context import correlation_id_var, principal_var, request_id_var
from marque_kit.logging import configure_logging


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    """configure_logging replaces the root handlers; later tests need pytest's own back."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    noisy = {name: logging.getLogger(name).level for name in ("aiormq", "aio_pika")}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, noisy_level in noisy.items():
        logging.getLogger(name).setLevel(noisy_level)


@pytest.fixture
def request_context() -> Iterator[None]:
    tokens = [
        (request_id_var, request_id_var.set("req-7f3a")),
        (correlation_id_var, correlation_id_var.set("corr-91bc")),
        (principal_var, principal_var.set("user:u-42")),
    ]
    yield
    for var, token in reversed(tokens):
        var.reset(token)


class Amount:
    """Stands in for any value orjson cannot serialise."""

    def __str__(self) -> str:
        return "¥2,580.00"


def lines(err: str) -> list[dict[str, Any]]:
    """Every line must be a JSON object on its own."""
    return [json.loads(line) for line in err.splitlines()]


def test_each_record_is_one_json_line_with_the_request_context(
    capsys: pytest.CaptureFixture[str], request_context: None
) -> None:
    configure_logging("inventory")
    log = logging.getLogger("marque.inventory.vehicles")

    log.info("vehicle %s reserved", "LSVAB4", extra={"vin": "LSVAB4", "store_id": "SH01"})
    log.warning("reservation about to lapse")

    first, second = lines(capsys.readouterr().err)
    assert first["service"] == "inventory"
    assert first["level"] == "info"
    assert first["logger"] == "marque.inventory.vehicles"
    assert first["msg"] == "vehicle LSVAB4 reserved"
    assert first["request_id"] == "req-7f3a"
    assert first["correlation_id"] == "corr-91bc"
    assert first["principal"] == "user:u-42"
    assert first["vin"] == "LSVAB4"
    assert first["store_id"] == "SH01"
    assert datetime.fromisoformat(first["ts"]).utcoffset() is not None
    assert second["level"] == "warning"
    assert second["msg"] == "reservation about to lapse"
    assert "vin" not in second


def test_outside_a_request_the_context_fields_are_null(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("crm")

    logging.getLogger("marque.crm").info("started")

    (entry,) = lines(capsys.readouterr().err)
    assert entry["service"] == "crm"
    assert entry["request_id"] is None
    assert entry["correlation_id"] is None
    assert entry["principal"] is None


def test_an_exception_is_logged_with_its_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("finance")
    log = logging.getLogger("marque.finance")

    try:
        raise ValueError("journal does not balance")
    except ValueError:
        log.exception("posting failed", extra={"journal_id": "J-1"})

    (entry,) = lines(capsys.readouterr().err)
    assert entry["level"] == "error"
    assert entry["msg"] == "posting failed"
    assert entry["journal_id"] == "J-1"
    assert "Traceback" in entry["exc"]
    assert "ValueError: journal does not balance" in entry["exc"]


def test_extra_values_json_cannot_encode_are_written_as_text(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("sales")

    logging.getLogger("marque.sales").info("quote priced", extra={"total": Amount()})

    (entry,) = lines(capsys.readouterr().err)
    assert entry["total"] == "¥2,580.00"


def test_the_level_filters_and_noisy_libraries_are_quieted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("reporting", level="warning")

    logging.getLogger("marque.reporting").info("not shown")
    logging.getLogger("aio_pika").warning("reconnecting")
    logging.getLogger("marque.reporting").error("shown")

    entries = lines(capsys.readouterr().err)
    assert [e["msg"] for e in entries] == ["reconnecting", "shown"]
    assert logging.getLogger().level == logging.WARNING

    configure_logging("reporting", level="DEBUG")
    logging.getLogger("aiormq").info("frame received")
    logging.getLogger("marque.reporting").debug("now shown")

    assert [e["msg"] for e in lines(capsys.readouterr().err)] == ["now shown"]


def test_configuring_twice_leaves_one_handler(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("gateway")
    configure_logging("gateway")

    logging.getLogger("marque.gateway").info("once")

    assert len(lines(capsys.readouterr().err)) == 1
    assert len(logging.getLogger().handlers) == 1
