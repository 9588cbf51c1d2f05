#!/usr/bin/env bash
# Builds the self-contained native harness bundle for one architecture: the supervisor
# (native/harness), the ONNX Runtime C-API runner (native/ort-runner) and the lite-interpreter
# runner (native/ptl-runner), with their own dynamic loader and every shared library they need,
# started by a POSIX sh entry that works under Android's sh (toybox/mksh) from any directory.
#
#   bundle.sh --arch aarch64|x86_64 [--out DIR] [--runtimes onnxruntime,pytorch-lite] [--data-dir DIR] [--if-built]
#
# Prints the bundle directory on stdout. --if-built builds nothing: it prints the directory when
# the bundle for the current sources is already there, and exits 3 (printing nothing) otherwise
# (what a worker host asks before it lets this machine's own device run the native harness).
# Binaries are cached by a hash of their sources and toolchain inputs under
# <data-dir>/harness/native-build/<arch>/, assembled bundles under
# <data-dir>/harness/native-bundle/<arch>/<version>/; --out copies (hard-links where it can) one.
# Sources: Debian packages (g++, g++-aarch64-linux-gnu, libtorch-dev[:arm64] through a dpkg -x
# sysroot, nlohmann-json3-dev) and npm packages (onnxruntime-node's libonnxruntime.so.1, the C
# API headers of com.github.asus4.onnxruntime); nothing else is downloaded.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
fail() { printf '[harness-bundle] error: %s\n' "$*" >&2; exit 1; }
log() { printf '[harness-bundle] %s\n' "$*" >&2; }

arch="" out="" runtimes="onnxruntime,pytorch-lite" data_dir="${POCKETBENCH_DATA_DIR:-$repo/.pocketbench}" if_built=0
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) arch=${2:-}; shift 2 ;;
    --out) out=${2:-}; shift 2 ;;
    --runtimes) runtimes=${2:-}; shift 2 ;;
    --data-dir) data_dir=${2:-}; shift 2 ;;
    --if-built) if_built=1; shift ;;
    *) fail "unknown argument '$1' (usage: bundle.sh --arch aarch64|x86_64 [--out DIR] [--runtimes onnxruntime,pytorch-lite] [--if-built])" ;;
  esac
done
case "$arch" in
  aarch64|arm64) arch=aarch64 triplet=aarch64-linux-gnu cxx=aarch64-linux-gnu-g++ ort_dir=arm64 loader_name=ld-linux-aarch64.so.1 ;;
  x86_64|x64) arch=x86_64 triplet=x86_64-linux-gnu cxx=g++ ort_dir=x64 loader_name=ld-linux-x86-64.so.2 ;;
  *) fail "--arch must be aarch64 or x86_64, got '${arch:-nothing}'" ;;
esac
want_ort=0 want_ptl=0
IFS=, read -r -a rts <<< "$runtimes"
for r in "${rts[@]}"; do
  case "$r" in
    onnxruntime) want_ort=1 ;;
    pytorch-lite) want_ptl=1 ;;
    *) fail "--runtimes takes onnxruntime and/or pytorch-lite, got '$r'" ;;
  esac
done
[ $((want_ort + want_ptl)) -gt 0 ] || fail "--runtimes names no runtime"
mkdir -p "$data_dir"
data_dir=$(cd "$data_dir" && pwd)

command -v "$cxx" >/dev/null || fail "$cxx is missing (Debian package $([ "$arch" = aarch64 ] && echo g++-aarch64-linux-gnu || echo g++))"
[ -f /usr/include/nlohmann/json.hpp ] || fail "nlohmann/json.hpp is missing (Debian package nlohmann-json3-dev)"
if [ "$arch" = aarch64 ]; then
  sysroot="$data_dir/cross/sysroot-arm64"
  if [ $if_built = 1 ] && [ ! -f "$sysroot.pkgs" ]; then exit 3; fi
  bash "$here/cross/sysroot-arm64.sh" "$sysroot" || fail "the arm64 sysroot could not be built"
  # libgloo (and a few others) live outside the multiarch directory, in /usr/lib.
  libdirs=("$sysroot/usr/lib/$triplet" "$sysroot/lib/$triplet" "$sysroot/usr/lib")
  loader="$sysroot/lib/$loader_name"
  torch_inc="$sysroot/usr/include"
else
  sysroot=""
  libdirs=("/usr/lib/$triplet" "/lib/$triplet" "/usr/lib")
  loader="/lib64/$loader_name"
  torch_inc="/usr/include"
fi
[ -e "$loader" ] || fail "the dynamic loader $loader is missing"

ort_so="$repo/node_modules/onnxruntime-node/bin/napi-v6/linux/$ort_dir/libonnxruntime.so.1"
ort_h="$repo/node_modules/com.github.asus4.onnxruntime/Plugins/iOS~/onnxruntime.xcframework/ios-arm64/onnxruntime.framework/Headers"
if [ $want_ort = 1 ]; then
  [ -f "$ort_so" ] || fail "$ort_so is missing (npm package onnxruntime-node)"
  [ -f "$ort_h/onnxruntime_c_api.h" ] || fail "ONNX Runtime's C API headers are missing (npm devDependency com.github.asus4.onnxruntime)"
  # The headers may be older than the library (ORT keeps every older API version), never newer.
  h_api=$(sed -n 's/^#define ORT_API_VERSION \([0-9]*\).*/\1/p' "$ort_h/onnxruntime_c_api.h")
  so_api=$(readelf --dyn-syms -W "$ort_so" | grep -o 'VERS_1\.[0-9]*' | sort -t. -k2 -n | tail -1 | cut -d. -f2 || true)
  [ -n "$h_api" ] && [ -n "$so_api" ] || fail "cannot read the ONNX Runtime API versions of the headers ($h_api) or of $ort_so ($so_api)"
  [ "$h_api" -le "$so_api" ] || fail "ONNX Runtime C API headers are version $h_api, newer than the bundled libonnxruntime (API $so_api); use headers <= $so_api"
fi
if [ $want_ptl = 1 ]; then
  [ -f "$torch_inc/torch/script.h" ] || fail "libtorch headers are missing under $torch_inc (Debian package libtorch-dev$([ "$arch" = aarch64 ] && echo ':arm64'))"
fi

# --- compile: each program cached by a hash of its own sources and toolchain inputs ---
# Bump when the compile or link flags below change (they are not hashed, to keep this script's
# other edits from forcing a rebuild of several minutes).
flags_rev=3
opt=(-O2 -std=gnu++17 -DNDEBUG -D_GLIBCXX_USE_CXX11_ABI=1)
json_inc=()
if [ -n "$sysroot" ]; then json_inc=(-isystem "$sysroot/usr/include/nlohmann/.."); fi
tl="${libdirs[0]}"
torch_flags=(-DGFLAGS_IS_A_DLL=0 -DGLOG_CUSTOM_PREFIX_SUPPORT -isystem "$torch_inc/torch/csrc/api/include")
if [ -n "$sysroot" ]; then torch_flags+=(-isystem "$torch_inc"); fi
torch_libs=("$tl/libtorch.so.1.13" -Wl,--no-as-needed "$tl/libtorch_cpu.so.1.13" -Wl,--as-needed "$tl/libc10.so.1.13" -lpthread
  # Debian's libtorch pulls in gdal, opencv, gloo…: their own dependencies are resolved by the
  # loader at run time (the bundle carries them all), not checked again at link time.
  -Wl,--allow-shlib-undefined -Wl,-rpath-link,"$tl" -Wl,-rpath-link,"${libdirs[1]}" -Wl,-rpath-link,"$tl/blas" -Wl,-rpath-link,"$tl/lapack")
toolchain=$( { "$cxx" --version | head -1; echo "$flags_rev"; if [ -n "$sysroot" ]; then cat "$sysroot.pkgs"; fi; } )
bin_dirs=()
pids=()
# component NAME HASH-INPUT-FILES... -- COMMANDS (run with $B as the output directory)
component() {
  local name=$1 inputs=$2 cmd=$3
  local h
  h=$( { printf '%s\n' "$toolchain"; for f in $inputs; do cat "$f"; done; } | sha256sum | cut -c1-16)
  local B="$data_dir/harness/native-build/$arch/$name-$h"
  bin_dirs+=("$B")
  [ -f "$B/.done" ] && return 0
  [ $if_built = 1 ] && exit 3
  log "compiling $name for $arch (once per source change; minutes for the libtorch runner)"
  rm -rf "$B" && mkdir -p "$B"
  ( B=$B; eval "$cmd" ) >"$B/build.log" 2>&1 && touch "$B/.done" &
  pids+=($!)
}
component harness "$here/harness/main.cpp $here/common/sha256.h" \
  '"$cxx" "${opt[@]}" "${json_inc[@]}" -o "$B/pocketbench-harness" "$here/harness/main.cpp"'
if [ $want_ort = 1 ]; then
  component ort "$here/ort-runner/main.cpp $here/ort-runner/bare_loop.cpp $here/common/runner.h $ort_so $ort_h/onnxruntime_c_api.h $ort_h/onnxruntime_cxx_api.h $ort_h/onnxruntime_cxx_inline.h" \
    '"$cxx" "${opt[@]}" "${json_inc[@]}" -I"$ort_h" -o "$B/ort-runner" "$here/ort-runner/main.cpp" "$ort_so" && "$cxx" "${opt[@]}" -I"$ort_h" -o "$B/ort-bare-loop" "$here/ort-runner/bare_loop.cpp" "$ort_so"'
fi
if [ $want_ptl = 1 ]; then
  component ptl "$here/ptl-runner/main.cpp $here/ptl-runner/bare_loop.cpp $here/common/runner.h" \
    '"$cxx" "${opt[@]}" "${torch_flags[@]}" -o "$B/ptl-runner" "$here/ptl-runner/main.cpp" "${torch_libs[@]}" && "$cxx" "${opt[@]}" "${torch_flags[@]}" -o "$B/ptl-bare-loop" "$here/ptl-runner/bare_loop.cpp" "${torch_libs[@]}"'
fi
ok=1
for p in "${pids[@]}"; do wait "$p" || ok=0; done
for d in "${bin_dirs[@]}"; do
  [ -f "$d/.done" ] || { tail -30 "$d/build.log" >&2; fail "compiling $(basename "$d") for $arch failed; see $d/build.log"; }
done
build_bins=()
for d in "${bin_dirs[@]}"; do for f in "$d"/*; do [ -f "$f" ] && [ -x "$f" ] && build_bins+=("$f"); done; done

# --- fast path: the same programs, libraries and script as a bundle already assembled ---
resolved_key=$( { for b in "${build_bins[@]}"; do echo "$b"; done; sha256sum < "$0"; if [ -n "$sysroot" ]; then cat "$sysroot.pkgs"; fi; echo "$runtimes"; } | sha256sum | cut -c1-16)
resolved="$data_dir/harness/native-bundle/$arch/.resolved-$resolved_key"
if [ -f "$resolved" ] && [ -f "$(cat "$resolved")/manifest.json" ]; then
  cache=$(cat "$resolved")
else
# --- the shared-library closure: every NEEDED entry, found in the sysroot (or this host) ---
search=("$(dirname "$ort_so")" "${libdirs[@]}" "${libdirs[0]}/blas" "${libdirs[0]}/lapack")
declare -A found=()
queue=()
for b in "${build_bins[@]}"; do queue+=("$b"); done
while [ ${#queue[@]} -gt 0 ]; do
  f=${queue[0]}; queue=("${queue[@]:1}")
  for n in $(readelf -d -W "$f" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    [ -n "${found[$n]:-}" ] && continue
    [ "$n" = "$loader_name" ] && { found[$n]=$loader; continue; }
    p=""
    for d in "${search[@]}"; do [ -e "$d/$n" ] && { p="$d/$n"; break; }; done
    if [ -z "$p" ]; then
      for d in "${libdirs[@]:0:2}"; do p=$(find "$d" -name "$n" \( -type f -o -type l \) 2>/dev/null | sort | head -1 || true); [ -n "$p" ] && break; done
    fi
    [ -n "$p" ] || fail "shared library $n (needed by $(basename "$f")) is not in ${search[*]}"
    found[$n]=$p
    queue+=("$(readlink -f "$p")")
  done
done
found[$loader_name]=$loader

# --- version: everything that goes into the bundle ---
manifest_inputs=$( { for n in "${!found[@]}"; do r=$(readlink -f "${found[$n]}"); echo "$n ${r##*/} $(stat -c %s "$r")"; done | sort; for b in "${build_bins[@]}"; do echo "${b##*/} $(sha256sum < "$b")"; done; sha256sum < "$0"; } )
version="$(node -p 'require(process.argv[1]).version' "$repo/device-agents/harness/package.json")-native+$(printf '%s' "$manifest_inputs" | sha256sum | cut -c1-12)"
cache="$data_dir/harness/native-bundle/$arch/$version"
if [ ! -f "$cache/manifest.json" ]; then
  [ $if_built = 1 ] && exit 3
  log "assembling the $arch bundle $version (${#found[@]} libraries)"
  tmp="$cache.tmp-$$"
  trap 'rm -rf "$tmp"' EXIT
  rm -rf "$tmp" && mkdir -p "$tmp/bin" "$tmp/lib"
  for b in "${build_bins[@]}"; do cp "$b" "$tmp/bin/${b##*/}"; done
  for n in "${!found[@]}"; do cp -L "${found[$n]}" "$tmp/lib/$n"; done
  chmod 755 "$tmp/lib/$loader_name" "$tmp"/bin/*
  cat > "$tmp/pocketbench-harness" <<EOF
#!/bin/sh
# pocketbench native harness $version ($arch). POSIX sh (Android's toybox/mksh, dash, busybox):
# runs the bundle's own loader and libraries from wherever this directory is; nothing installed.
#   sh pocketbench-harness run --spec SPEC.json --out REPORT.json | probe | --version
case "\$0" in */*) PB_BUNDLE=\${0%/*} ;; *) PB_BUNDLE=. ;; esac
PB_BUNDLE=\$(cd "\$PB_BUNDLE" && pwd) || exit 70
PB_LOADER="\$PB_BUNDLE/lib/$loader_name"
PB_HARNESS_VERSION='$version'
export PB_BUNDLE PB_LOADER PB_HARNESS_VERSION
# No /tmp on Android: scratch in the bundle (the supervisor creates it; only sh builtins here,
# a phone's shell may have no mkdir on its PATH).
if [ -z "\${TMPDIR:-}" ] && [ ! -w /tmp ]; then TMPDIR="\$PB_BUNDLE/tmp"; export TMPDIR; fi
exec "\$PB_LOADER" --library-path "\$PB_BUNDLE/lib" "\$PB_BUNDLE/bin/pocketbench-harness" "\$@"
EOF
  chmod 755 "$tmp/pocketbench-harness"
  ort_version=null ptl_version=null
  # (|| true: grep closing the pipe early is not a failure under pipefail)
  [ -f "$tmp/bin/ort-runner" ] && ort_version="\"$(readelf --dyn-syms -W "$ort_so" | grep -o 'VERS_1\.[0-9]*\.[0-9]*' | sort -t. -k2 -n | tail -1 | sed 's/^VERS_//' || true)\""
  # The version libtorch's headers declare, which is what ptl-runner reports (TORCH_VERSION).
  vh="$torch_inc/torch/csrc/api/include/torch/version.h"
  [ -f "$tmp/bin/ptl-runner" ] && ptl_version="\"$(sed -n 's/^#define TORCH_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\).*/\2/p' "$vh" | paste -sd. || true)\""
  files_list=$(mktemp)
  (cd "$tmp" && find . -type f ! -name manifest.json | sed 's|^\./||' | sort) > "$files_list" && mv "$files_list" "$tmp/.files"
  size=$(cd "$tmp" && xargs -a .files stat -c %s | awk '{s+=$1} END {print s}')
  node -e '
    const fs = require("fs");
    const [dir, version, arch, ortV, ptlV, size, loader] = process.argv.slice(1);
    const files = fs.readFileSync(dir + "/.files", "utf8").split("\n").filter(Boolean);
    const m = {
      name: "pocketbench-native-harness", version, arch, kind: "native",
      entry: "pocketbench-harness", interpreter: "sh",
      commands: { run: ["run", "--spec", "{spec}", "--out", "{out}"], probe: ["probe"] },
      runtimes: { onnxruntime: JSON.parse(ortV), "pytorch-lite": JSON.parse(ptlV) },
      loader: "lib/" + loader, sizeBytes: Number(size), files,
      // What must be chmod 755 after a push that does not keep modes (adb push through Appium).
      executables: files.filter((f) => f === "pocketbench-harness" || f === "lib/" + loader || f.startsWith("bin/")),
    };
    fs.writeFileSync(dir + "/manifest.json", JSON.stringify(m, null, 2) + "\n");
  ' "$tmp" "$version" "$arch" "$ort_version" "$ptl_version" "$size" "$loader_name"
  rm -f "$tmp/.files"
  # Smoke test before the bundle is kept: it must start and answer --version (under qemu for aarch64).
  got=$(cd / && sh "$tmp/pocketbench-harness" --version 2>&1) || fail "the $arch bundle does not start: $got"
  [ "$got" = "$version" ] || fail "the $arch bundle answered '$got' to --version, expected $version"
  rm -rf "$cache" && mv "$tmp" "$cache"
  # Keep the newest three bundles per arch: each can be hundreds of MB.
  (cd "$(dirname "$cache")" && ls -1dt -- */ 2>/dev/null | tail -n +4 | xargs -r rm -rf --) || true
fi
echo "$cache" > "$resolved"
fi
if [ -n "$out" ]; then
  mkdir -p "$(dirname "$out")"
  rm -rf "$out.tmp-$$"
  cp -al "$cache" "$out.tmp-$$" 2>/dev/null || cp -a "$cache" "$out.tmp-$$"
  rm -rf "$out" && mv "$out.tmp-$$" "$out"
  echo "$(cd "$out" && pwd)"
else
  echo "$cache"
fi
