#!/usr/bin/env bash
# Builds the emulated arm64 device's root directory: Debian bookworm's arm64 nodejs and its
# shared-library closure, unpacked (not installed) with dpkg -x, so qemu-user can run
#   qemu-aarch64-static -L <rootfs> <rootfs>/usr/bin/node …
# Idempotent: a stamp file records the package list that the current rootfs was built from.
# Usage: build-rootfs.sh [<data-dir>]   (default $POCKETBENCH_DATA_DIR, else <repo>/.pocketbench)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
data_dir=${1:-${POCKETBENCH_DATA_DIR:-$here/../../.pocketbench}}
target="$data_dir/qemu-arm64"
rootfs="$target/rootfs"
stamp="$target/rootfs.stamp"

log() { printf '[qemu-arm64] %s\n' "$*" >&2; }
fail() { printf '[qemu-arm64] error: %s\n' "$*" >&2; exit 1; }

command -v qemu-aarch64-static >/dev/null || fail "qemu-aarch64-static is missing (Debian package qemu-user-static)."
dpkg --print-foreign-architectures | grep -qx arm64 \
  || fail "arm64 is not a dpkg foreign architecture; run: dpkg --add-architecture arm64 && apt-get update"

# Runtime closure of nodejs:arm64. Arch-all node-* packages are JS that Debian's node loads
# from /usr/share/nodejs; everything else of arch all (python, debconf…) is install-time only.
skip='^(dpkg|install-info|tar|openssl):arm64$'
mapfile -t pkgs < <(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
    --no-breaks --no-replaces --no-enhances --no-pre-depends nodejs:arm64 2>/dev/null \
  | grep -v '^ ' | grep -E ':arm64$|^node-' | grep -Ev "$skip" | sort -u)
[ "${#pkgs[@]}" -gt 5 ] || fail "could not resolve nodejs:arm64's dependencies (is the arm64 package index fetched? apt-get update)"

want=$( { printf '%s\n' "${pkgs[@]}"; nproc; sha256sum "$0"; } | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$rootfs/usr/bin/node" ]; then
  log "rootfs up to date ($rootfs)"
  exit 0
fi

log "building $rootfs from ${#pkgs[@]} packages"
mkdir -p "$target"
work=$(mktemp -d "$target.tmp.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/debs" "$work/rootfs"
(cd "$work/debs" && apt-get download -qq -o APT::Architecture=arm64 -o APT::Sandbox::User=root "${pkgs[@]}" >/dev/null) \
  || fail "apt-get download failed for: ${pkgs[*]}"
for deb in "$work"/debs/*.deb; do dpkg -x "$deb" "$work/rootfs"; done

# qemu-user passes /proc/cpuinfo through from the x86 host unless the -L root has its own.
# ONNX Runtime's cpuinfo library finds no ARM cores in the host's and crashes (SIGSEGV) at
# load, so the root gets the cpuinfo of the CPU that qemu is told to emulate (-cpu cortex-a72,
# the Raspberry Pi 4's core): baseline ARMv8.0 features, one entry per host core.
mkdir -p "$work/rootfs/proc"
for i in $(seq 0 $(( $(nproc) - 1 ))); do
  printf 'processor\t: %d\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\nCPU revision\t: 3\n\n' "$i"
done > "$work/rootfs/proc/cpuinfo"

# Smoke test before the rootfs replaces a previous one: the emulated node must start.
arch=$(qemu-aarch64-static -cpu cortex-a72 -L "$work/rootfs" "$work/rootfs/usr/bin/node" -p 'process.arch' 2>&1) \
  || fail "the arm64 node does not start under qemu: $arch"
[ "$arch" = arm64 ] || fail "expected process.arch arm64 under qemu, got: $arch"

rm -rf "$rootfs"
mv "$work/rootfs" "$rootfs"
echo "$want" > "$stamp"
log "ready: $(qemu-aarch64-static -L "$rootfs" "$rootfs/usr/bin/node" --version) on emulated aarch64"
