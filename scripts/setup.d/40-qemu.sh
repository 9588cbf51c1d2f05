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
# The harness starts its runner as a child process of the emulated node, i.e. it execs an
# aarch64 binary: the kernel needs Debian's qemu-aarch64 binfmt_misc entry for that (systemd
# registers it at boot on a normal Debian; machines without systemd need it done here).
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null \
      || die "binfmt_misc is not mounted and cannot be (not root?): the qemu-arm64 harness cannot start its runner. Run: mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc"
  fi
  say "registering qemu-aarch64 with binfmt_misc (/usr/lib/binfmt.d/qemu-aarch64.conf)"
  cat /usr/lib/binfmt.d/qemu-aarch64.conf > /proc/sys/fs/binfmt_misc/register \
    || die "could not register qemu-aarch64 with binfmt_misc"
fi
