# The native harness bundles (device-agents/harness/native/bundle.sh): the supervisor, the ONNX
# Runtime C-API runner and the lite-interpreter runner, with their own loader and libraries, for
# x86_64 and (cross-compiled against Debian's arm64 libtorch, in a dpkg -x sysroot) aarch64.
# The qemu-arm64 device and Android phones run these; nothing else is needed on the device.
# Builds once per source change (cached by source hash in the data dir): minutes the first time.
# Sourced by scripts/setup.sh after 40-qemu.sh (arm64 is a dpkg foreign architecture by then).
(
  set -euo pipefail
  need_apt g++ g++-aarch64-linux-gnu nlohmann-json3-dev binutils file
  for arch in x86_64 aarch64; do
    say "native harness bundle for $arch (skipped when up to date)"
    bash "$ROOT_DIR/device-agents/harness/native/bundle.sh" --arch "$arch" --data-dir "$POCKETBENCH_DATA_DIR" >/dev/null \
      || die "the native $arch harness bundle does not build; see the messages above"
  done
  # The chroot test lays the aarch64 bundle out like a phone, with Android's shell (mksh) as
  # /system/bin/sh: Debian's statically linked arm64 mksh, unpacked (not installed).
  if [ "$POCKETBENCH_SETUP_FOR" != "start" ]; then
    mksh="$POCKETBENCH_DATA_DIR/cross/mksh-arm64/sh"
    if [ ! -x "$mksh" ]; then
      say "unpacking Debian's static arm64 mksh (Android's shell) for the chroot test"
      tmp_debs=$(mktemp -d)
      (cd "$tmp_debs" && apt-get download -qq -o APT::Sandbox::User=root mksh:arm64 >/dev/null) || die "apt-get download mksh:arm64 failed"
      dpkg -x "$tmp_debs"/mksh_*.deb "$tmp_debs/root"
      mkdir -p "$(dirname "$mksh")"
      cp "$tmp_debs/root/usr/lib/aarch64-linux-musl/bin/mksh" "$mksh.new" && mv "$mksh.new" "$mksh"
      rm -rf "$tmp_debs"
    fi
  fi
)
