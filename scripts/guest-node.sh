#!/usr/bin/env bash
# Provides the guest's Node.js (Debian 12's nodejs 18) on this host, so the agent bundle
# can be tested on the exact runtime real guests run, without replacing the host's Node.
#
# Idempotent and cached: the first run installs Debian's externalised Node builtins
# (node-acorn, node-cjs-module-lexer, node-undici: data files under /usr/share/nodejs that
# do not touch the host's node), downloads nodejs 18 + libnode108 + libc-ares2 with
# `apt-get download`, and unpacks them under .cache/guest-node. Later runs only check.
# Prints the path of a wrapper that runs that node.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="$root/.cache/guest-node"
wrapper="$cache/node"

if [ -x "$wrapper" ] && "$wrapper" -e 'process.exit(process.versions.node.startsWith("18.") ? 0 : 1)' 2>/dev/null; then
  echo "$wrapper"
  exit 0
fi

if ! command -v apt-get >/dev/null; then
  echo "guest-node: apt-get is required (Debian or Ubuntu host)" >&2
  exit 1
fi

fetch() {
  local version missing=() package
  version="$(apt-cache madison libnode108 2>/dev/null | awk 'NR==1 {print $3}')"
  [ -n "$version" ] || return 1
  for package in node-acorn node-cjs-module-lexer node-undici; do
    # dpkg -s also succeeds for removed packages whose config files remain: ask for the state.
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$package")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null || return 1
  fi
  rm -rf "$cache.tmp"
  mkdir -p "$cache.tmp/debs"
  # apt-get download runs as the invoking user; as root it warns about its sandbox user.
  (cd "$cache.tmp/debs" && apt-get download -q "nodejs=$version" "libnode108=$version" libc-ares2) \
    2> >(grep -v '^W: Download is performed unsandboxed' >&2) >&2 || return 1
}

# Package lists on a fresh machine may be missing or name versions the archive no longer
# serves: refresh them once and retry.
if ! fetch; then
  apt-get update -qq >&2
  fetch || { echo "guest-node: cannot fetch Debian's Node 18 packages" >&2; exit 1; }
fi
for deb in "$cache.tmp"/debs/*.deb; do dpkg-deb -x "$deb" "$cache.tmp/root"; done
cat >"$cache.tmp/node" <<WRAP
#!/bin/sh
LD_LIBRARY_PATH="$cache/root/usr/lib/x86_64-linux-gnu" exec "$cache/root/usr/bin/node" "\$@"
WRAP
chmod +x "$cache.tmp/node"
rm -rf "$cache"
mv "$cache.tmp" "$cache"
"$wrapper" -e 'if (!process.versions.node.startsWith("18.")) process.exit(1)'
echo "$wrapper"
