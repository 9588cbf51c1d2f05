#!/usr/bin/env bash
# Builds the arm64 sysroot the aarch64 runners are cross-compiled against and their libraries
# are bundled from: Debian bookworm's arm64 libtorch (headers + libraries) and the runtime
# closure of libtorch1.13:arm64, downloaded with apt-get download and unpacked with dpkg -x
# (nothing is installed). Idempotent: a stamp records the package versions it was built from.
# Usage: sysroot-arm64.sh OUT_DIR
set -euo pipefail
out=${1:?usage: sysroot-arm64.sh OUT_DIR}
stamp="$out.stamp"
log() { printf '[sysroot-arm64] %s\n' "$*" >&2; }
fail() { printf '[sysroot-arm64] error: %s\n' "$*" >&2; exit 1; }
dpkg --print-foreign-architectures | grep -qx arm64 \
  || fail "arm64 is not a dpkg foreign architecture; run: dpkg --add-architecture arm64 && apt-get update"

# Fast path (every worker start asks): nothing changed since the last check if the package
# indexes and this script are the same as then. Resolving the closure below takes 5-20 s.
quick=$( { sha256sum < "$0"; stat -c '%n %Y' /var/lib/apt/lists/*Packages* 2>/dev/null || true; } | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ -f "$out.pkgs" ] && [ "$(cat "$out.quick" 2>/dev/null)" = "$quick" ] && [ -f "$out/usr/lib/aarch64-linux-gnu/libtorch_cpu.so.1.13" ]; then
  exit 0
fi

# Install-time-only packages of the closure (maintainer scripts, docs) are left out.
skip='^(dpkg|install-info|tar|cdebconf|debconf|perl-base|libdebian-installer4|libnewt0.52|libtextwrap1|libslang2):arm64$'
mapfile -t pkgs < <( { apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
    --no-breaks --no-replaces --no-enhances --no-pre-depends libtorch1.13:arm64 2>/dev/null \
  | grep -v '^ ' | grep -E ':arm64$'; echo libtorch-dev:arm64; echo nlohmann-json3-dev; } | grep -Ev "$skip" | sort -u)
[ "${#pkgs[@]}" -gt 20 ] || fail "could not resolve libtorch1.13:arm64's dependencies (arm64 package index missing? run apt-get update)"
# What the programs built against the sysroot depend on (the package versions), apart from this
# script: bundle.sh keys its compiled programs on it (<out>.pkgs).
pkgs_hash=$(apt-cache policy "${pkgs[@]}" 2>/dev/null | grep -E '^[^ ]|Candidate' | sha256sum | cut -c1-16)
want=$( { echo "$pkgs_hash"; sha256sum < "$0"; } | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f "$out/usr/lib/aarch64-linux-gnu/libtorch_cpu.so.1.13" ]; then
  echo "$quick" > "$out.quick"
  echo "$pkgs_hash" > "$out.pkgs"
  exit 0
fi
log "downloading and unpacking ${#pkgs[@]} arm64 packages into $out (once)"
mkdir -p "$(dirname "$out")"
work=$(mktemp -d "$out.tmp.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/debs" "$work/root"
(cd "$work/debs" && apt-get download -qq -o APT::Sandbox::User=root "${pkgs[@]}" >/dev/null 2>"$work/download.log") \
  || fail "apt-get download failed: $(tail -3 "$work/download.log" | tr '\n' ' ')"
for deb in "$work"/debs/*.deb; do dpkg -x "$deb" "$work/root"; done
[ -f "$work/root/usr/lib/aarch64-linux-gnu/libtorch_cpu.so.1.13" ] || fail "libtorch_cpu.so.1.13 is missing from the unpacked libtorch1.13:arm64"
rm -rf "$out"
mv "$work/root" "$out"
echo "$want" > "$stamp"
echo "$quick" > "$out.quick"
echo "$pkgs_hash" > "$out.pkgs"
log "ready: $out ($(du -sh "$out" | cut -f1))"
