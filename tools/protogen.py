"""Generate Python code for every proto under protos/ into libs/proto/src/.

    .venv/bin/python tools/protogen.py          # regenerate in place (make protos)
    .venv/bin/python tools/protogen.py --check  # exit 1 and list drift, change nothing

The proto root is the Python import root, so protos/marque/x/v1/y.proto becomes the module
marque.x.v1.y_pb2 and generated imports need no rewriting. Packages are namespace packages.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = REPO_ROOT / "protos"
OUTPUT_ROOT = REPO_ROOT / "libs" / "proto" / "src"
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")
# PEP 561 marker in every generated package, so mypy reads the .pyi stubs of the installed code.
TYPED_MARKER = "py.typed"


def proto_files(proto_root: Path = PROTO_ROOT) -> list[str]:
    """Every .proto under the root, as sorted root-relative POSIX paths (stable protoc input)."""
    return sorted(p.relative_to(proto_root).as_posix() for p in proto_root.rglob("*.proto"))


def generate(out_dir: Path, proto_root: Path = PROTO_ROOT) -> None:
    """Run grpcio-tools' protoc over all protos: *_pb2.py, *_pb2.pyi, *_pb2_grpc.py, py.typed."""
    files = proto_files(proto_root)
    if not files:
        raise SystemExit(f"no .proto files under {proto_root}")
    out_dir.mkdir(parents=True, exist_ok=True)
    # grpc_tools.protoc's __main__ adds its bundled well-known types (google/protobuf/*.proto).
    cmd = [
        sys.executable,
        "-m",
        "grpc_tools.protoc",
        f"--proto_path={proto_root}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *files,
    ]
    result = subprocess.run(cmd, cwd=proto_root, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"protoc failed ({result.returncode}):\n{result.stderr}")
    for package_dir in {p.parent for p in out_dir.rglob("*_pb2.py")}:
        (package_dir / TYPED_MARKER).touch()


def generated_files(root: Path) -> set[str]:
    """Generated files under root, as root-relative POSIX paths."""
    if not root.exists():
        return set()
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and (p.name.endswith(GENERATED_SUFFIXES) or p.name == TYPED_MARKER)
    }


def drift(fresh_root: Path, committed_root: Path) -> list[str]:
    """Describe every generated file that is missing, stale or extra in committed_root."""
    fresh = generated_files(fresh_root)
    committed = generated_files(committed_root)
    problems = [f"missing: {name}" for name in sorted(fresh - committed)]
    problems += [
        f"differs: {name}"
        for name in sorted(fresh & committed)
        if not filecmp.cmp(fresh_root / name, committed_root / name, shallow=False)
    ]
    problems += [f"stale (no .proto): {name}" for name in sorted(committed - fresh)]
    return problems


def sync(fresh_root: Path, target_root: Path) -> list[str]:
    """Make target_root's generated files equal fresh_root's; return what changed."""
    changes = drift(fresh_root, target_root)
    fresh = generated_files(fresh_root)
    for name in sorted(generated_files(target_root) - fresh):
        (target_root / name).unlink()
    for name in sorted(fresh):
        dest = target_root / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(fresh_root / name, dest)
    return changes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--check",
        action="store_true",
        help="regenerate into a temporary directory and fail if libs/proto/src differs",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="protogen-") as tmp:
        fresh_root = Path(tmp)
        generate(fresh_root)
        if args.check:
            problems = drift(fresh_root, OUTPUT_ROOT)
            if problems:
                print("generated code is out of date; run `make protos`:", file=sys.stderr)
                for line in problems:
                    print(f"  {line}", file=sys.stderr)
                return 1
            print(f"generated code is up to date ({len(generated_files(fresh_root))} files)")
            return 0
        changes = sync(fresh_root, OUTPUT_ROOT)
    for line in changes:
        print(line)
    print(f"generated {len(proto_files())} protos into {OUTPUT_ROOT.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
