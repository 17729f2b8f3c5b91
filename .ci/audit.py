"""Fail on known vulnerabilities in the locked dependency set (``requirements.lock``).

Runs ``pip-audit -r requirements.lock --strict`` (PyPI's advisory data, per pinned release).
Some networks reach only PyPI's per-project JSON, not the per-release JSON pip-audit asks
for; there every package would be "not found". Then the per-project JSON is used instead: it
carries the advisories of a project's latest release, which is what most pins are (the lock is
compiled fresh); any advisory fails the run, and pins older than the latest release are listed
as not verifiable here.

    python .ci/audit.py [requirements.lock]
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

PYPI = "https://pypi.org/pypi"


def pins(lock: Path) -> list[tuple[str, str]]:
    out = []
    for line in lock.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line and not line.startswith("-"):
            name, version = line.split("==", 1)
            out.append((name.strip(), version.split(";")[0].strip()))
    return out


def fetch(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return json.load(resp)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise


def per_release_json_reachable() -> bool:
    return fetch(f"{PYPI}/pip/24.0/json") is not None


def pip_audit(lock: Path) -> int:
    exe = shutil.which("pip-audit") or str(Path(sys.executable).with_name("pip-audit"))
    cmd = [
        exe,
        "-r",
        str(lock),
        "--strict",
        "--no-deps",
        "--disable-pip",
        "--progress-spinner",
        "off",
    ]
    print("audit:", " ".join(cmd[1:]), flush=True)
    return subprocess.call(cmd)


def latest_release_advisories(lock: Path) -> int:
    print("audit: PyPI's per-release JSON is not reachable; using per-project advisories")
    found, unverified = [], []
    for name, version in pins(lock):
        doc = fetch(f"{PYPI}/{name}/json")
        if doc is None:
            found.append(f"{name}=={version}: not on PyPI")
            continue
        if doc["info"]["version"] != version:
            unverified.append(f"{name}=={version} (latest {doc['info']['version']})")
            continue
        for v in doc.get("vulnerabilities") or []:
            if not v.get("withdrawn"):
                found.append(f"{name}=={version}: {v['id']} fixed in {v.get('fixed_in')}")
    for line in unverified:
        print("audit: not verifiable here:", line)
    for line in found:
        print("audit: VULNERABLE", line)
    print(f"audit: {len(pins(lock)) - len(unverified)} pins checked, {len(found)} problems")
    return 1 if found else 0


def main() -> int:
    lock = Path(sys.argv[1] if len(sys.argv) > 1 else "requirements.lock")
    if not pins(lock):
        print(f"audit: no pins in {lock}")
        return 1
    if per_release_json_reachable():
        return pip_audit(lock)
    return latest_release_advisories(lock)


if __name__ == "__main__":
    sys.exit(main())
