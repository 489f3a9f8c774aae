"""`make lint` as part of `make test`: ruff and mypy stay clean (STYLE.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(
    "command",
    [("ruff", "check", "."), ("ruff", "format", "--check", ".")],
    ids=["ruff-check", "ruff-format"],
)
def test_ruff_is_clean(command: tuple[str, ...]) -> None:
    result = run(str(BIN / command[0]), *command[1:])
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean() -> None:
    sources = ["libs/kit/src", *sorted(str(p) for p in ROOT.glob("services/*/src"))]
    if (ROOT / "gateway" / "src").is_dir():
        sources.append("gateway/src")
    result = run(str(BIN / "mypy"), *sources)
    assert result.returncode == 0, result.stdout + result.stderr
