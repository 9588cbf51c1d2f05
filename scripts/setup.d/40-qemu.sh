# The emulated arm64 device: qemu-user, GNU time (host-side peak RSS of the emulator), arm64
# as a dpkg foreign architecture (for apt-get download only), and its root filesystem.
# Sourced by scripts/setup.sh: ROOT_DIR, POCKETBENCH_DATA_DIR, need_apt, say, die are set.
need_apt qemu-user-static time
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  [ "$(id -u)" -eq 0 ] || die "the qemu-arm64 device needs arm64 package indexes: run as root, or: dpkg --add-architecture arm64 && apt-get update"
  say "adding arm64 as a dpkg foreign architecture (package downloads for the emulated device)"
  dpkg --add-architecture arm64
  apt-get update -qq >/dev/null || die "apt-get update failed after adding arm64"
elif ! apt-cache show nodejs:arm64 >/dev/null 2>&1; then
  say "apt-get update (arm64 package indexes)"
  apt-get update -qq >/dev/null || die "apt-get update failed"
fi
bash "$ROOT_DIR/device-agents/qemu/build-rootfs.sh" "$POCKETBENCH_DATA_DIR" || die "building the qemu-arm64 root filesystem failed"
