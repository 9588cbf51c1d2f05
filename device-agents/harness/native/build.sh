#!/usr/bin/env bash
# Builds the native pytorch-lite runner (and the bare loop the benchmark compares it with)
# against Debian's libtorch-dev. Skips the build when the sources have not changed.
# Usage: native/build.sh [OUT_DIR]   (default: $POCKETBENCH_DATA_DIR/harness/native)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-${POCKETBENCH_DATA_DIR:-$here/../../../.pocketbench}/harness/native}
mkdir -p "$out"
out=$(cd "$out" && pwd)
src="$here/ptl-runner"
stamp=$(cat "$src"/CMakeLists.txt "$src"/*.cpp "$here"/common/runner.h | sha256sum | cut -c1-16)
if [ -x "$out/ptl-runner" ] && [ -x "$out/ptl-bare-loop" ] && [ "$(cat "$out/.stamp" 2>/dev/null)" = "$stamp" ]; then
  exit 0
fi
command -v cmake >/dev/null || { echo "cmake not found (Debian package cmake)" >&2; exit 1; }
[ -f /usr/lib/x86_64-linux-gnu/cmake/Torch/TorchConfig.cmake ] || [ -n "$(find /usr/lib -name TorchConfig.cmake -print -quit 2>/dev/null)" ] \
  || { echo "libtorch not found (Debian package libtorch-dev)" >&2; exit 1; }
# A build directory configured for another checkout (a copied data dir) cannot be reused.
if [ -f "$out/build/CMakeCache.txt" ] && ! grep -qx "CMAKE_HOME_DIRECTORY:INTERNAL=$src" "$out/build/CMakeCache.txt"; then rm -rf "$out/build"; fi
cmake -S "$src" -B "$out/build" -DCMAKE_BUILD_TYPE=Release >"$out/build.log" 2>&1 || { cat "$out/build.log" >&2; exit 1; }
cmake --build "$out/build" -j "$(nproc)" >>"$out/build.log" 2>&1 || { tail -40 "$out/build.log" >&2; exit 1; }
# Copy then rename: a runner that is running right now keeps its old file.
for exe in ptl-runner ptl-bare-loop; do
  cp "$out/build/$exe" "$out/.$exe.new" && mv -f "$out/.$exe.new" "$out/$exe"
done
echo "$stamp" > "$out/.stamp"
echo "built $out/ptl-runner" >&2
