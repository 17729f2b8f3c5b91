"""The import rules of docs/architecture.md, checked by import-linter (contracts in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
CONTRACTS = (
    "benefits is the engine and imports neither cardsvc nor merchants",
    "cardsvc imports benefits and merchants only in its composition root",
    "merchants uses cardsvc's public parts, never its composition root, CLI or demo",
)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    assert LINT_IMPORTS.exists(), f"import-linter is not installed in the venv ({LINT_IMPORTS})"
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_lint_imports_passes_as_configured() -> None:
    """Exactly what CI and developers run: ``lint-imports`` with pyproject.toml."""
    proc = run()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in CONTRACTS:
        assert f"{name} KEPT" in proc.stdout


def test_a_forbidden_import_is_caught(tmp_path: Path) -> None:
    """The checker can fail: benefits importing cardsvc breaks its contract."""
    probe = ROOT / "benefits" / "_probe_forbidden.py"
    probe.write_text("import cardsvc.app  # deliberately forbidden\n")
    try:
        proc = run()
    finally:
        probe.unlink()
    assert proc.returncode != 0
    assert "benefits is the engine and imports neither cardsvc nor merchants BROKEN" in proc.stdout
