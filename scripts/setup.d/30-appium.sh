# Appium 3 (root node_modules) with our Linux-target driver, in an Appium home inside the data dir.
# Sourced by scripts/setup.sh: ROOT_DIR, POCKETBENCH_DATA_DIR, say, die are set.
(
  set -euo pipefail
  drv="$ROOT_DIR/device-agents/appium-linux-driver"
  appium_bin="$ROOT_DIR/node_modules/.bin/appium"
  [ -x "$appium_bin" ] || die "appium is missing from node_modules (npm ci should have installed it)"
  export APPIUM_HOME="$POCKETBENCH_DATA_DIR/appium"
  mkdir -p "$APPIUM_HOME"

  # Appium loads drivers as JS: compile when the sources changed since the last build.
  src_hash=$(cd "$drv" && find src package.json tsconfig.json -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
  if [ "$(cat "$drv/build/.source-hash" 2>/dev/null)" != "$src_hash" ] || [ ! -f "$drv/build/index.js" ]; then
    say "building the Appium Linux driver (tsc)"
    rm -rf "$drv/build"
    "$ROOT_DIR/node_modules/.bin/tsc" -p "$drv/tsconfig.json" || die "the Appium Linux driver does not compile"
    echo "$src_hash" > "$drv/build/.source-hash"
  fi

  # Installed as a link to the repo's copy, so a rebuild needs no reinstall; package.json
  # (the appium manifest fields) changing does.
  pkg_hash=$(sha256sum "$drv/package.json" | cut -c1-16)
  stamp="$APPIUM_HOME/.pocketbench-driver-stamp"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$pkg_hash:$drv" ] \
     || ! grep -q 'pocketbench-linux:' "$APPIUM_HOME/node_modules/.cache/appium/extensions.yaml" 2>/dev/null; then
    say "installing the Appium Linux driver into $APPIUM_HOME"
    "$appium_bin" driver uninstall pocketbench-linux >/dev/null 2>&1 || true
    # Appium itself is the repo's; the driver's peer dependency resolves to it through the link.
    out=$(APPIUM_OMIT_PEER_DEPS=1 "$appium_bin" driver install --source=local "$drv" 2>&1) \
      || { printf '%s\n' "$out" >&2; die "appium driver install --source=local $drv failed (APPIUM_HOME=$APPIUM_HOME)"; }
    echo "$pkg_hash:$drv" > "$stamp"
  fi
)

# Tests of the driver's ssh target talk to a private sshd on 127.0.0.1 (started by the test, on a
# free port, with throw-away keys). Its binary is unpacked from Debian's openssh-server into the
# data dir rather than installed, so no system ssh service is started; sshd still needs its
# privilege-separation user and directory, which the package would have created.
if [ "$POCKETBENCH_SETUP_FOR" != "start" ]; then
  sshd_root="$POCKETBENCH_DATA_DIR/sshd"
  if [ ! -x "$sshd_root/usr/sbin/sshd" ]; then
    say "unpacking openssh-server into $sshd_root (for the ssh target's tests)"
    tmp_debs=$(mktemp -d)
    (cd "$tmp_debs" && apt-get download -qq -o APT::Sandbox::User=root openssh-server >/dev/null) \
      || die "apt-get download openssh-server failed"
    mkdir -p "$sshd_root" && dpkg -x "$tmp_debs"/openssh-server_*.deb "$sshd_root"
    rm -rf "$tmp_debs"
  fi
  if ! id sshd >/dev/null 2>&1; then
    [ "$(id -u)" -eq 0 ] || die "sshd's privilege-separation user 'sshd' is missing; as root: useradd --system --no-create-home --home-dir /run/sshd --shell /usr/sbin/nologin sshd"
    useradd --system --no-create-home --home-dir /run/sshd --shell /usr/sbin/nologin sshd
  fi
  mkdir -p /run/sshd 2>/dev/null || true
fi
