"""Contracts hold: generated code matches protos/, buf lint passes, main's protos are not broken."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
BUF = REPO_ROOT / "node_modules" / ".bin" / "buf"


def run(*cmd: str | Path, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, check=False
    )


@pytest.fixture(scope="module")
def buf() -> Path:
    if not BUF.exists():
        pytest.skip("buf is not installed (node_modules/.bin/buf missing): run `make node`")
    return BUF


def test_generated_code_matches_protos() -> None:
    result = run(sys.executable, "tools/protogen.py", "--check")
    assert result.returncode == 0, f"generated code drifted, run `make protos`:\n{result.stderr}"


def test_buf_lint_passes(buf: Path) -> None:
    result = run(buf, "lint")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_protos_do_not_break_main(buf: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    if run("git", "rev-parse", "--verify", "--quiet", "main^{commit}").returncode != 0:
        pytest.skip("no branch main with commits to compare against")
    tracked = run("git", "ls-tree", "-r", "--name-only", "main", "--", "buf.yaml", "protos").stdout
    if "buf.yaml" not in tracked.split() or ".proto" not in tracked:
        pytest.skip("main has no protos (or no buf.yaml) yet: nothing to break")
    # The common dir is the real .git directory, also when this checkout is a git worktree.
    git_dir = run("git", "rev-parse", "--path-format=absolute", "--git-common-dir").stdout.strip()
    result = run(buf, "breaking", "--against", f"{git_dir}#branch=main")
    assert result.returncode == 0, result.stdout + result.stderr


def test_breaking_check_refuses_a_renumbered_field(buf: Path, tmp_path: Path) -> None:
    # Proves the FILE rules actually bite, so a green test_protos_do_not_break_main means something.
    before, after = tmp_path / "before", tmp_path / "after"
    for workspace in (before, after):
        shutil.copytree(REPO_ROOT / "protos", workspace / "protos")
        shutil.copy(REPO_ROOT / "buf.yaml", workspace / "buf.yaml")
    common = after / "protos" / "marque" / "common" / "v1" / "common.proto"
    source = common.read_text()
    assert "int64 amount_fen = 1;" in source
    common.write_text(source.replace("int64 amount_fen = 1;", "int64 amount_fen = 9;"))

    result = run(buf, "breaking", after, "--against", before)

    assert result.returncode != 0
    assert "amount_fen" in result.stdout + result.stderr
