# The reference harness: libtorch + CMake for the native pytorch-lite runner, Debian's
# python3-torch/torchvision for the fixture models, python3-sklearn for the bundled digits the
# fidelity fixture is trained on, Mesa's lavapipe (bookworm-backports 25.x; bookworm's is too old
# for ONNX Runtime's WebGPU provider) and vulkaninfo for vulkan.
# Sourced by scripts/setup.sh: ROOT_DIR, POCKETBENCH_DATA_DIR, need_apt, ensure_backports, say, die are set.
(
  set -euo pipefail
  need_apt cmake g++ libtorch-dev python3-torch python3-torchvision python3-sklearn vulkan-tools

  mesa=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
  if [ -z "$mesa" ] || dpkg --compare-versions "$mesa" lt 25; then
    ensure_backports
    say "installing mesa-vulkan-drivers from bookworm-backports (found: ${mesa:-none})"
    APT_UPDATED=0
    need_apt -t bookworm-backports mesa-vulkan-drivers
    # need_apt skips installed packages; an old bookworm mesa has to be upgraded explicitly.
    mesa=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
    if dpkg --compare-versions "$mesa" lt 25; then
      apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -t bookworm-backports mesa-vulkan-drivers >/dev/null \
        || die "could not install mesa-vulkan-drivers 25.x from bookworm-backports"
    fi
  fi

  say "building the native ptl-runner (skipped when up to date)"
  bash "$ROOT_DIR/device-agents/harness/native/build.sh" "$POCKETBENCH_DATA_DIR/harness/native" \
    || die "the native ptl-runner does not build; see $POCKETBENCH_DATA_DIR/harness/native/build.log"
)
