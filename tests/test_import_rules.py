"""The import rules of docs/architecture.md, checked by import-linter (contracts in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
CONTRACTS = (
    "layers: composition root, pages, cross-package flows, merchants, cardsvc's domain, kernel",
    "benefits is the engine and imports neither cardsvc nor merchants",
    "cardsvc's domain imports neither benefits nor merchants",
    "merchants reaches cardsvc only through cardsvc.public and the kernel",
    "no import cycles between the packages, nor between their sub-packages",
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
        assert f"{name} KEPT" in " ".join(proc.stdout.split()), name


def test_no_wildcard_exceptions() -> None:
    """Exceptions to the rules are named one import at a time, never by pattern."""
    text = (ROOT / "pyproject.toml").read_text()
    rules = text[text.index("[tool.importlinter]") :]
    ignored = [line for line in rules.splitlines() if "->" in line]
    assert not [line for line in ignored if "*" in line], ignored


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


def _broken_by(path: Path, source: str) -> str:
    path.write_text(source)
    try:
        proc = run()
    finally:
        path.unlink()
    assert proc.returncode != 0
    return " ".join(proc.stdout.split())


def test_merchants_may_not_reach_into_cardsvc() -> None:
    """The protected contract can fail: merchants importing a cardsvc model breaks it."""
    out = _broken_by(
        ROOT / "merchants" / "_probe_protected.py", "import cardsvc.members.models  # forbidden\n"
    )
    assert "merchants reaches cardsvc only through cardsvc.public and the kernel BROKEN" in out


def test_the_kernel_may_not_import_the_domain() -> None:
    """The layers contract can fail: the kernel importing a domain package breaks it."""
    out = _broken_by(
        ROOT / "cardsvc" / "kernel" / "_probe_layers.py", "import cardsvc.orgs.models\n"
    )
    assert "kernel BROKEN" in out
