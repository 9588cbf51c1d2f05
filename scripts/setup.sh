#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian bookworm machine with Node 20 (as root):
# Debian packages, npm dependencies, then each step in scripts/setup.d/ in order.
# Usage: scripts/setup.sh [--for start|test]   (each step decides what it needs for which)
set -euo pipefail
cd "$(dirname "$0")/.."
export POCKETBENCH_SETUP_FOR="${2:-${POCKETBENCH_SETUP_FOR:-all}}"
[ "${1:-}" = "--for" ] || POCKETBENCH_SETUP_FOR=all
export ONNXRUNTIME_NODE_INSTALL=skip
ROOT_DIR=$(pwd)
export ROOT_DIR
: "${POCKETBENCH_DATA_DIR:=$ROOT_DIR/.pocketbench}"
export POCKETBENCH_DATA_DIR
mkdir -p "$POCKETBENCH_DATA_DIR"

say() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
[ "$node_major" -ge 20 ] || die "Node.js 20 or newer is required (found $(node --version 2>/dev/null || echo none))."

APT_UPDATED=0
# need_apt [-t suite] pkg...: installs the Debian packages that are missing, saying which.
need_apt() {
  local suite=()
  if [ "${1:-}" = "-t" ]; then suite=(-t "$2"); shift 2; fi
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || die "missing Debian packages (${missing[*]}) and no apt-get to install them; install them by hand."
  [ "$(id -u)" -eq 0 ] || die "missing Debian packages (${missing[*]}); run as root or install them: apt-get install ${missing[*]}"
  if [ "$APT_UPDATED" -eq 0 ]; then
    say "apt-get update"
    apt-get update -qq >/dev/null || die "apt-get update failed; check the Debian package sources."
    APT_UPDATED=1
  fi
  say "installing Debian packages: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${suite[@]}" "${missing[@]}" >/dev/null \
    || die "could not install Debian packages: ${missing[*]}"
}
# Mesa's lavapipe in bookworm is too old for ONNX Runtime's WebGPU provider; backports has 25.x.
ensure_backports() {
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    say "adding bookworm-backports to the apt sources (for mesa-vulkan-drivers 25.x)"
    echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/pocketbench-backports.list
    APT_UPDATED=0
  fi
}
export -f need_apt ensure_backports say die

# npm dependencies: reinstall when the lockfile changed since the last install.
stamp="node_modules/.pocketbench-lock-stamp"
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  say "npm ci (ONNXRUNTIME_NODE_INSTALL=skip: onnxruntime-node's bundled binaries are used)"
  npm ci --no-audit --no-fund --loglevel=error >&2 || die "npm ci failed"
  cp package-lock.json "$stamp"
fi

for step in scripts/setup.d/*.sh; do
  [ -e "$step" ] || continue
  # shellcheck disable=SC1090
  source "$step"
done
say "ready"
