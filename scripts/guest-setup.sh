#!/usr/bin/env bash
# Prepares this host for real guests (`pyro run` in a guest, and the real-guest test tier):
#   1. installs what is missing of qemu, the image-build tools and tmux (the terminal the
#      attach tests drive) and socat (guest networking connects qemu to the egress proxy
#      with it) from Debian's archive (`apt-get update` runs once, and only when needed),
#   2. pulls debian:12 into the cache (~/.cache/pyro-mcp/environments, or
#      $PYRO_ENVIRONMENT_CACHE_DIR) and, with --tests, also every environment a test names in
#      `qemuUnavailableReason("NAME")` (debian:12-build, for the npm example's test); each
#      built once from Debian packages (minutes each), then reused; a cached entry is only
#      verified, and its guest agent refreshed if this build differs.
# Both steps need root. Run as a user, it runs them through sudo (which may ask for a
# password); the cache is still that user's (pyro honours SUDO_UID: docs/environments.md).
# Idempotent. Where it cannot finish, it says why and exits non-zero.
#
# --if-possible (what `npm test` passes): where root is missing (no root, no sudo without a
# password, no apt), say so and exit 0 so the real-guest tier is skipped; under CI (CI set)
# that is still an error. Any other failure (apt, the build) is an error in every mode.
# --tests (also what `npm test` passes): the environments the real-guest tests boot too.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
if_possible=""
for_tests=""
for argument in "$@"; do
  case "$argument" in
    --if-possible) if_possible=1 ;;
    --tests) for_tests=1 ;;
    *)
      echo "guest-setup: unknown argument '$argument' (usage: guest-setup.sh [--if-possible] [--tests])" >&2
      exit 2
      ;;
  esac
done

trap 'echo "guest-setup: FAILED (exit $?) at line $LINENO: $BASH_COMMAND" >&2' ERR

# Cannot get root: an error, unless --if-possible (outside CI) skips the real-guest tier.
no_root() {
  echo "guest-setup: $*" >&2
  if [ -n "$if_possible" ] && [ -z "${CI:-}" ]; then
    echo "guest-setup: the real-guest test tier will be skipped" >&2
    exit 0
  fi
  echo "guest-setup: FAILED: real guests are not set up on this host" >&2
  exit 1
}

have() {
  command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]
}

# How to run a command as root: directly, through sudo (asking for a password only when a
# person runs this, never under --if-possible), or not at all (empty).
as_root=()
can_be_root() {
  if [ "$(id -u)" = 0 ]; then return 0; fi
  if ! have sudo; then return 1; fi
  if [ -n "$if_possible" ]; then sudo -n true 2>/dev/null || return 1; fi
  as_root=(sudo)
}

packages=()
for pair in qemu-system-x86_64:qemu-system-x86 qemu-img:qemu-utils debootstrap:debootstrap \
  mkfs.ext4:e2fsprogs debugfs:e2fsprogs cpio:cpio depmod:kmod dpkg-deb:dpkg tmux:tmux \
  socat:socat; do
  have "${pair%%:*}" || packages+=("${pair#*:}")
done

updated=""
apt_update_once() {
  if [ -z "$updated" ]; then
    echo "guest-setup: apt-get update" >&2
    ${as_root[@]+"${as_root[@]}"} apt-get update -qq >&2
    updated=1
  fi
}

if [ "${#packages[@]}" -gt 0 ]; then
  if ! have apt-get; then
    no_root "missing tools and no apt-get to install them; install: ${packages[*]}"
  fi
  if ! can_be_root; then
    no_root "missing tools; install as root with: apt-get install ${packages[*]}"
  fi
  apt_update_once
  echo "guest-setup: apt-get install ${packages[*]}" >&2
  ${as_root[@]+"${as_root[@]}"} env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${packages[@]}" >&2
fi

node_bin="$(command -v node)"
pyro=("$node_bin" "$root/dist/cli/main.js")
if [ ! -f "$root/dist/cli/main.js" ]; then
  echo "guest-setup: FAILED: $root/dist/cli/main.js is missing; run npm run build first" >&2
  exit 1
fi

# debian:12, and with --tests only what a test needs: an environment no test names is not
# built (each costs minutes).
mapfile -t environments < <(
  {
    echo debian:12
    [ -z "$for_tests" ] || grep -ho 'qemuUnavailableReason("[^"]*")' "$root"/test/*.test.ts | sed 's/.*("\(.*\)")/\1/'
  } | sort -u
)
# Prints the ones not pulled yet (or stale, or whose agent is outdated).
not_pulled() {
  "${pyro[@]}" env list --json | "$node_bin" -e '
    let text = ""; process.stdin.on("data", (c) => (text += c)).on("end", () => {
      const listed = JSON.parse(text).environments;
      for (const name of process.argv.slice(1)) {
        const entry = listed.find((e) => e.name === name);
        if (!(entry && entry.installed && !entry.agent_outdated)) console.log(name);
      }
    });' "${environments[@]}"
}
mapfile -t missing < <(not_pulled)
if [ "${#missing[@]}" -eq 0 ]; then exit 0; fi
if ! can_be_root; then
  no_root "${missing[*]} not pulled and building needs root: sudo ${pyro[*]} env pull ${missing[0]}"
fi
# The kernel comes from apt: make sure its package lists know the cloud kernel.
if ! apt-cache show linux-image-cloud-amd64 >/dev/null 2>&1; then apt_update_once; fi
for name in "${missing[@]}"; do
  # sudo resets the environment: pass the cache and mirror choices on explicitly.
  ${as_root[@]+"${as_root[@]}"} env ${PYRO_ENVIRONMENT_CACHE_DIR:+PYRO_ENVIRONMENT_CACHE_DIR="$PYRO_ENVIRONMENT_CACHE_DIR"} \
    ${PYRO_DEBIAN_MIRROR:+PYRO_DEBIAN_MIRROR="$PYRO_DEBIAN_MIRROR"} \
    "${pyro[@]}" env pull "$name" >&2
done
mapfile -t still < <(not_pulled)
if [ "${#still[@]}" -gt 0 ]; then
  echo "guest-setup: FAILED: the pull finished but ${still[*]} is still not usable (see: ${pyro[*]} env list)" >&2
  exit 1
fi
echo "guest-setup: ${environments[*]} ready" >&2
