#!/usr/bin/env bash
# Prints the path of a PgBouncer that keeps prepared statements across server connections in
# transaction mode (max_prepared_statements, PgBouncer >= 1.21). Debian 12 ships 1.18, so when
# the one on PATH is older, Debian 13's source package (1.24.1, checked against the digest in
# Debian's Sources index) is built once into $PREFIX (about 15 s of CPU) and reused after.
set -euo pipefail

VERSION=1.24.1
SHA256=da72a3aba13072876d055a3e58dd4aba4a5de4ed6148e73033185245598fd3e0
PREFIX=${PGBOUNCER_PREFIX:-/opt/pgbouncer-$VERSION}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

recent_enough() {  # 1.21 or newer
  local v
  v=$("$1" --version 2>/dev/null | sed -n 's/^PgBouncer \([0-9]*\.[0-9]*\).*/\1/p' | head -n1)
  [ -n "$v" ] && [ "$(printf '%s\n1.21\n' "$v" | sort -V | head -n1)" = 1.21 ]
}

for candidate in "$(command -v pgbouncer || true)" "$PREFIX/bin/pgbouncer"; do
  if [ -n "$candidate" ] && [ -x "$candidate" ] && recent_enough "$candidate"; then
    echo "$candidate"
    exit 0
  fi
done

echo "pgbouncer: building $VERSION from Debian's source package into $PREFIX" >&2
export DEBIAN_FRONTEND=noninteractive
deps="gcc make pkg-config libevent-dev libssl-dev libc-ares-dev"
# shellcheck disable=SC2086
apt-get install -y -q $deps >/dev/null 2>&1 \
  || { apt-get update -q >/dev/null && apt-get install -y -q $deps >/dev/null; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tarball="$work/pgbouncer_$VERSION.orig.tar.gz"
curl -fsSL -o "$tarball" "$MIRROR/pool/main/p/pgbouncer/pgbouncer_$VERSION.orig.tar.gz"
echo "$SHA256  $tarball" | sha256sum -c --quiet
tar -xzf "$tarball" -C "$work"
(
  cd "$work/pgbouncer-$VERSION"
  ./configure --prefix="$PREFIX" --without-pam --without-systemd >/dev/null
  make -j"$(nproc)" >/dev/null
  make install >/dev/null
) >&2
recent_enough "$PREFIX/bin/pgbouncer" || { echo "pgbouncer: the build did not give $VERSION" >&2; exit 1; }
echo "$PREFIX/bin/pgbouncer"
