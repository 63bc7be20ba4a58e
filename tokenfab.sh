#!/usr/bin/env bash
# tokenfab's one entry point for people and CI.
#   ./tokenfab.sh run [ARGS...]   install what is missing, build (Release), launch the workbench
#   ./tokenfab.sh test            install what is missing, build, run the whole test suite
# Other verbs (for developers): setup, build [release|asan|fuzz|debug], cli ARGS..., clean.
# Re-running is cheap: packages are only installed when missing, builds are incremental.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUILD="${TOKENFAB_BUILD_DIR:-$ROOT/build}"
JOBS="${TOKENFAB_JOBS:-$(nproc 2>/dev/null || echo 2)}"
FUZZ_SECONDS="${TOKENFAB_FUZZ_SECONDS:-60}"

# Debian 12 / Ubuntu 22.04+ package names. Other distributions: see README ("Other systems").
PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  qt6-base-dev libqcustomplot-dev libgl-dev libxkbcommon-dev
  libvulkan-dev glslang-tools spirv-tools mesa-vulkan-drivers vulkan-validationlayers vulkan-tools
  libutf8proc-dev nlohmann-json3-dev libcurl4-openssl-dev
  libgtest-dev libgmock-dev xvfb xauth
  clang libclang-rt-14-dev
  python3 python3-jinja2
  debootstrap librsvg2-bin appstream desktop-file-utils
)

log() { printf '\033[1m[tokenfab]\033[0m %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    log "need root to install packages: run as root or install sudo"; exit 1; fi
}

setup() {
  if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
    log "not a Debian/Ubuntu system: install the equivalents of: ${PACKAGES[*]} (README, 'Other systems')"
    return 0
  fi
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

configure() {  # configure DIR [cmake args...]
  local dir="$1"; shift
  if [ ! -f "$dir/build.ninja" ]; then
    cmake -S "$ROOT" -B "$dir" -G Ninja "$@"
  fi
}

build() {
  local kind="${1:-release}"
  case "$kind" in
    release) configure "$BUILD/release" -DCMAKE_BUILD_TYPE=Release
             cmake --build "$BUILD/release" -j "$JOBS" ;;
    debug)   configure "$BUILD/debug" -DCMAKE_BUILD_TYPE=Debug
             cmake --build "$BUILD/debug" -j "$JOBS" ;;
    asan)    # unit-test targets only: the GUI and GPU suites run in the release build
             configure "$BUILD/asan" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTOKENFAB_BUILD_GUI=OFF \
               -DTOKENFAB_SANITIZE=address,undefined
             cmake --build "$BUILD/asan" -j "$JOBS" --target tokenfab_unit_tests ;;
    fuzz)    configure "$BUILD/fuzz" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTOKENFAB_BUILD_GUI=OFF \
               -DTOKENFAB_BUILD_TESTS=OFF -DTOKENFAB_FUZZ=ON \
               -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
             cmake --build "$BUILD/fuzz" -j "$JOBS" ;;
    *) log "unknown build kind: $kind"; exit 2 ;;
  esac
}

run_tests() {
  local fails=0
  log "release build: every test (unit, gpu, model, gui, package)"
  # GUI tests use Qt's offscreen platform; Vulkan tests use whatever device exists (lavapipe in CI).
  (cd "$BUILD/release" && QT_QPA_PLATFORM=offscreen ctest -j "$JOBS" --output-on-failure) || fails=1

  log "sanitizer build (address,undefined): unit tests"
  build asan
  (cd "$BUILD/asan" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
     ctest -j "$JOBS" -L unit --output-on-failure) || fails=1

  if [ -d "$ROOT/tests/fuzz" ]; then
    log "fuzzing (libFuzzer, ${FUZZ_SECONDS}s per target)"
    build fuzz
    local corpus name extra limits extra_limits
    local shared="${TOKENFAB_SHARED_DIR:-$ROOT/../shared}"
    for target in "$BUILD"/fuzz/tests/fuzz/*_fuzz; do
      [ -x "$target" ] || continue
      name="$(basename "$target")"
      corpus="$BUILD/fuzz/corpus/$name"
      mkdir -p "$corpus"
      cp -n "$ROOT"/tests/fuzz/corpus/"$name"/* "$corpus"/ 2>/dev/null || true
      # Per input: a wall-time and a memory limit (a hang or a blow-up is a finding), 10 s and
      # 2 GiB unless tests/fuzz/<target>.options sets tighter ones.
      limits=(-timeout=10 -rss_limit_mb=2048)
      [ -f "$ROOT/tests/fuzz/$name.options" ] && read -r -a extra_limits < "$ROOT/tests/fuzz/$name.options" \
        && limits+=("${extra_limits[@]}")
      extra=()
      # The real models' chat templates in ../shared are extra seeds (never copied into the repository).
      if [ "$name" = template_fuzz ] && [ -d "$shared/reference/chat_templates" ]; then
        extra=("$shared/reference/chat_templates")
      fi
      # ASan's quarantine of freed blocks is kept small so the RSS limit measures the input, not
      # the sanitizer.
      ASAN_OPTIONS="${ASAN_OPTIONS:-quarantine_size_mb=16}" \
        "$target" "$corpus" "${extra[@]}" -max_total_time="$FUZZ_SECONDS" -max_len=65536 "${limits[@]}" \
        -print_final_stats=1 2>"$BUILD/fuzz/$name.log" \
        || { tail -40 "$BUILD/fuzz/$name.log"; fails=1; }
      grep -E "^(stat::number_of_executed_units|Done)" "$BUILD/fuzz/$name.log" >&2 || true
    done
  fi
  return $fails
}

cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in
  setup) setup ;;
  build) setup; build "${1:-release}" ;;
  run)   setup; build release
         exec "$BUILD/release/app/gui/tokenfab" "$@" ;;
  cli)   build release >/dev/null
         exec "$BUILD/release/app/cli/tokenfab-cli" "$@" ;;
  test)  setup; build release; run_tests ;;
  clean) rm -rf "$BUILD" ;;
  *) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
