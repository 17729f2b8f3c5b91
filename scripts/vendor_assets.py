"""Copy the pages' third-party browser files from the npm registry into the app's static folder.

Federations run on intranets, so every asset is served by the app itself. Which packages and
versions is decided by ``package.json`` and pinned (with sha512 integrity) by
``package-lock.json``; which files of each package is listed under ``vendor`` in package.json.
This script needs no Node.js: it downloads each pinned tarball from the registry
(``NPM_CONFIG_REGISTRY``, default registry.npmjs.org; a local ``node_modules`` from ``npm ci``
is used instead when it holds the same version), verifies its integrity against the lock file
and extracts the listed files to ``cardsvc/pages/static/vendor/<package>/``.

    python scripts/vendor_assets.py           # idempotent; run by `make install`
    npm install <pkg>@<version>               # to add or upgrade: then list its files in package.json
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import sys
import tarfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEST = ROOT / "cardsvc" / "pages" / "static" / "vendor"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "unioncard" / "npm"


def _tarball_url(name: str, version: str) -> str:
    registry = os.environ.get("NPM_CONFIG_REGISTRY", "https://registry.npmjs.org/").rstrip("/")
    return f"{registry}/{name}/-/{name.rsplit('/', 1)[-1]}-{version}.tgz"


def _verify(data: bytes, integrity: str) -> bool:
    algo, _, digest = integrity.partition("-")
    return base64.b64encode(hashlib.new(algo, data).digest()).decode() == digest


def _tarball(name: str, version: str, integrity: str) -> bytes:
    cached = CACHE / f"{name.replace('/', '__')}-{version}.tgz"
    if cached.exists() and _verify(cached.read_bytes(), integrity):
        return cached.read_bytes()
    url = _tarball_url(name, version)
    with urllib.request.urlopen(url, timeout=60) as resp:
        data = resp.read()
    if not _verify(data, integrity):
        sys.exit(f"vendor_assets: {url} does not match the integrity in package-lock.json")
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(data)
    return data


def _extract(tgz: bytes, name: str, path: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(tgz), mode="r:gz") as archive:
        member = archive.extractfile(f"package/{path}")
        if member is None:
            sys.exit(f"vendor_assets: {name} has no file {path}")
        return member.read()


def _from_node_modules(name: str, version: str, path: str) -> bytes | None:
    pkg = ROOT / "node_modules" / name
    try:
        installed = json.loads((pkg / "package.json").read_text())["version"]
    except (OSError, KeyError, ValueError):
        return None
    return (pkg / path).read_bytes() if installed == version else None


def main() -> int:
    wanted: dict[str, list[str]] = json.loads((ROOT / "package.json").read_text())["vendor"]
    locked = json.loads((ROOT / "package-lock.json").read_text())["packages"]
    for name, files in wanted.items():
        entry = locked.get(f"node_modules/{name}")
        if entry is None:
            sys.exit(f"vendor_assets: {name} is not in package-lock.json (run npm install)")
        version, integrity = entry["version"], entry["integrity"]
        out_dir = DEST / name
        stamp = out_dir / ".version"
        present = all((out_dir / Path(f).name).exists() for f in files)
        if present and stamp.exists() and stamp.read_text() == version:
            continue
        out_dir.mkdir(parents=True, exist_ok=True)
        for f in files:
            data = _from_node_modules(name, version, f) or _extract(
                _tarball(name, version, integrity), name, f
            )
            (out_dir / Path(f).name).write_bytes(data)
        stamp.write_text(version)
        print(f"vendor_assets: {name}@{version} → {out_dir.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
