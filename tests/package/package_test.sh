#!/usr/bin/env bash
# The package test (ctest label "package"): builds the .deb with cpack, installs it with apt into
# a clean Debian 12 root made by debootstrap (dependencies resolved from Debian, Recommends
# included: mesa-vulkan-drivers gives lavapipe), runs the installed programs inside, then purges
# the package and checks that every file it installed is gone and nothing else changed.
#
#   tests/package/package_test.sh BUILD_DIR [SOURCE_DIR]
#
# Needs root (chroot, mounts), debootstrap and network access to the Debian mirror
# (TOKENFAB_DEBIAN_MIRROR, default http://deb.debian.org/debian). Exits 77 (ctest: skipped) when
# those are missing. The bare root is cached as debroot-cache-<key>.tar in TOKENFAB_CACHE_DIR
# (default ${XDG_CACHE_HOME:-~/.cache}/tokenfab, outside the build folder so fresh clones and clean
# builds on the same machine reuse it), the key being a hash of suite, mirror and package list,
# so only the first run on a machine pays for debootstrap (about 6 minutes).
# Artifacts (logs, the GUI screenshot) land in BUILD_DIR/package-test/.
set -euo pipefail
export LC_ALL=C  # one collation for sort/comm

BUILD="$(cd "${1:?usage: package_test.sh BUILD_DIR [SOURCE_DIR]}" && pwd)"
SOURCE="$(cd "${2:-$(dirname "${BASH_SOURCE[0]}")/../..}" && pwd)"
SUITE=bookworm
MIRROR="${TOKENFAB_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# Installed into the cached root besides minbase: what the test itself uses inside.
BASE_PACKAGES="ca-certificates,xvfb,xauth,procps"
ARTIFACTS="$BUILD/package-test"
T0=$(date +%s)

say() { printf '[package-test %4ds] %s\n' "$(( $(date +%s) - T0 ))" "$*"; }
fail() { say "FAIL: $*"; exit 1; }
skip() { say "SKIP: $*"; exit 77; }

[ "$(id -u)" -eq 0 ] || skip "needs root (chroot and mounts)"
command -v debootstrap >/dev/null || skip "debootstrap is not installed (./tokenfab.sh setup)"
command -v cpack >/dev/null || skip "cpack not found"
command -v dpkg-shlibdeps >/dev/null || skip "dpkg-shlibdeps not found (dpkg-dev)"

rm -rf "$ARTIFACTS"
mkdir -p "$ARTIFACTS"
WORK="$(mktemp -d "$BUILD/package-test-root.XXXXXX")"
ROOT="$WORK/root"
XVFB_PID=""
cleanup() {
  set +e
  [ -n "$XVFB_PID" ] && kill "$XVFB_PID" 2>/dev/null
  for m in dev/pts dev proc sys; do mountpoint -q "$ROOT/$m" 2>/dev/null && umount -l "$ROOT/$m"; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# ---- 1. the .deb ----
say "cpack -G DEB in $BUILD"
(cd "$BUILD" && cpack -G DEB >"$ARTIFACTS/cpack.log" 2>&1) || { tail -30 "$ARTIFACTS/cpack.log"; fail "cpack"; }
DEB="$(ls -t "$BUILD"/tokenfab_*.deb | head -1)"
[ -f "$DEB" ] || fail "no .deb produced"
dpkg-deb --info "$DEB" >"$ARTIFACTS/deb-info.txt"
dpkg-deb --contents "$DEB" >"$ARTIFACTS/deb-contents.txt"
say "built $(basename "$DEB") ($(du -h "$DEB" | cut -f1)); $(grep -E '^ Depends:' "$ARTIFACTS/deb-info.txt" || echo 'no Depends')"
grep -q '^ Depends: .*libvulkan1' "$ARTIFACTS/deb-info.txt" || fail "Depends lacks libvulkan1 (dpkg-shlibdeps did not run?)"

# ---- 2. the clean Debian root (cached) ----
KEY="$(printf '%s\n' "$SUITE" "$MIRROR" "$BASE_PACKAGES" minbase v1 | sha256sum | cut -c1-12)"
CACHE_DIR="${TOKENFAB_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tokenfab}"
mkdir -p "$CACHE_DIR"
CACHE="$CACHE_DIR/debroot-cache-$KEY.tar"
if [ ! -f "$CACHE" ]; then
  say "debootstrap $SUITE (minbase + $BASE_PACKAGES) from $MIRROR: first run, this takes minutes"
  debootstrap --variant=minbase --include="$BASE_PACKAGES" "$SUITE" "$WORK/base" "$MIRROR" \
    >"$ARTIFACTS/debootstrap.log" 2>&1 || { tail -30 "$ARTIFACTS/debootstrap.log"; skip "debootstrap failed (no network?)"; }
  rm -rf "$WORK/base/var/cache/apt/archives/"*.deb
  tar -C "$WORK/base" -cf "$CACHE.tmp" . && mv "$CACHE.tmp" "$CACHE"
  rm -rf "$WORK/base"
fi
mkdir -p "$ROOT"
tar -C "$ROOT" -xf "$CACHE"
say "root ready from $(basename "$CACHE")"
mount -t proc proc "$ROOT/proc"
mount -t sysfs sys "$ROOT/sys"
mount --bind /dev "$ROOT/dev"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
in_root() { chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }

# Files of the root, minus what apt/dpkg keep for themselves (lists, caches, logs, the database).
snapshot() {
  (cd "$ROOT" && find . -xdev \( -path ./proc -o -path ./sys -o -path ./dev -o -path ./tmp -o -path ./run \
      -o -path ./var/lib/dpkg -o -path ./var/lib/apt -o -path ./var/cache -o -path ./var/log -o -path ./root \) -prune \
      -o -print | sort)
}

# ---- 3. install with apt (dependencies from Debian, Recommends on) ----
cp "$DEB" "$ROOT/tmp/"
in_root apt-get update -qq >"$ARTIFACTS/apt-update.log" 2>&1 || fail "apt-get update in the root"
snapshot >"$WORK/before-install.txt"
TI=$(date +%s)
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "/tmp/$(basename "$DEB")" \
  >"$ARTIFACTS/apt-install.log" 2>&1 || { tail -30 "$ARTIFACTS/apt-install.log"; fail "apt-get install of the .deb"; }
say "apt-get install: $(( $(date +%s) - TI ))s; $(grep -c '^Setting up' "$ARTIFACTS/apt-install.log") packages set up"
in_root dpkg-query -W -f='${Status}\n' mesa-vulkan-drivers | grep -q "install ok installed" \
  || fail "mesa-vulkan-drivers (Recommends) was not installed"

# ---- 4. run the installed programs ----
MODEL_ARGS=()
if ! grep -q 'share/tokenfab/models/.*\.gguf' "$ARTIFACTS/deb-contents.txt"; then
  # The demo model is not in this build: use the small shared model, from /tmp of the root.
  SHARED="${TOKENFAB_SHARED_DIR:-$SOURCE/../shared}"
  [ -f "$SHARED/models/stories260K.gguf" ] || fail "no demo model in the package and no shared stories260K.gguf"
  cp "$SHARED/models/stories260K.gguf" "$ROOT/tmp/model.gguf"
  MODEL_ARGS=(-m /tmp/model.gguf)
  say "the package has no demo model: using stories260K.gguf from the shared data"
fi
run_step() {  # run_step NAME COMMAND...: output in ARTIFACTS/NAME.log
  local name="$1"; shift
  local t=$(date +%s)
  if in_root "$@" >"$ARTIFACTS/$name.log" 2>&1; then
    say "ok   $name ($(( $(date +%s) - t ))s)"
  else
    tail -40 "$ARTIFACTS/$name.log"; fail "$name (see $ARTIFACTS/$name.log)"
  fi
}
run_step cli-version tokenfab-cli --version
grep -q "[0-9]\.[0-9]" "$ARTIFACTS/cli-version.log" || fail "tokenfab-cli --version printed no version"
run_step cli-generate tokenfab-cli generate "${MODEL_ARGS[@]}" -n 16 --temp 0 -p "Once upon a time"
run_step cli-self-test tokenfab-cli self-test "${MODEL_ARGS[@]}"
grep -q "self-test PASSED" "$ARTIFACTS/cli-self-test.log" || fail "self-test did not report PASSED"

if [ -x "$ROOT/usr/bin/tokenfab" ]; then
  if in_root env QT_QPA_PLATFORM=offscreen tokenfab --help 2>&1 | grep -q -- "--self-test"; then
    run_step gui-self-test env QT_QPA_PLATFORM=offscreen tokenfab --self-test
  else
    say "note: tokenfab has no --self-test flag yet; skipped that step"
  fi
  # The GUI on a virtual X server; Xvfb writes its framebuffer (XWD) to -fbdir: the screenshot.
  mkdir -p "$ROOT/tmp/fb"
  chroot "$ROOT" /usr/bin/env -i PATH=/usr/bin:/bin Xvfb :77 -screen 0 1280x800x24 -fbdir /tmp/fb -nolisten tcp \
    >"$ARTIFACTS/xvfb.log" 2>&1 &
  XVFB_PID=$!
  sleep 2
  in_root env DISPLAY=:77 QT_QPA_PLATFORM=xcb timeout -s INT 12 tokenfab >"$ARTIFACTS/gui.log" 2>&1 &
  GUI_PID=$!
  sleep 10
  cp "$ROOT/tmp/fb/Xvfb_screen0" "$ARTIFACTS/gui-screenshot.xwd" || fail "no Xvfb framebuffer"
  rc=0; wait "$GUI_PID" || rc=$?
  # timeout's status 124 means the GUI was still running after 12 s (what we want); anything else
  # is a crash or an early exit.
  [ "$rc" -eq 124 ] || { tail -30 "$ARTIFACTS/gui.log"; fail "the GUI exited early (status $rc)"; }
  kill "$XVFB_PID" 2>/dev/null; wait "$XVFB_PID" 2>/dev/null || true; XVFB_PID=""
  colours="$(python3 "$SOURCE/tests/package/xwd_to_png.py" "$ARTIFACTS/gui-screenshot.xwd" "$ARTIFACTS/gui-screenshot.png")" \
    || fail "could not read the Xvfb framebuffer"
  # An empty X screen is one colour; a window with widgets and text has many.
  [ "$colours" -gt 16 ] || fail "the GUI screenshot is blank ($colours colours)"
  say "ok   gui under Xvfb for 12 s: screenshot $ARTIFACTS/gui-screenshot.png ($colours colours)"
else
  say "note: the package has no GUI (built with TOKENFAB_BUILD_GUI=OFF): GUI steps skipped"
fi

# ---- 5. purge: everything the package installed is gone, nothing else changed ----
in_root dpkg-query -L tokenfab | sort >"$ARTIFACTS/package-files.txt"
snapshot >"$WORK/after-install.txt"
run_step apt-purge env DEBIAN_FRONTEND=noninteractive apt-get purge -y tokenfab
snapshot >"$WORK/after-purge.txt"
left=0
while read -r f; do
  [ -n "$f" ] && [ "$f" != "/." ] || continue
  if [ -f "$ROOT$f" ] || [ -L "$ROOT$f" ]; then say "left behind: $f"; left=1; fi
done <"$ARTIFACTS/package-files.txt"
[ "$left" -eq 0 ] || fail "files of the package remain after purge"
for d in usr/share/tokenfab usr/share/doc/tokenfab; do [ ! -e "$ROOT/$d" ] || fail "/$d remains after purge"; done
# What disappeared must be exactly the package's own files (directories shared with other packages stay).
comm -23 "$WORK/after-install.txt" "$WORK/after-purge.txt" | sed 's|^\.||' >"$WORK/removed.txt"
comm -23 "$WORK/removed.txt" <(sort "$ARTIFACTS/package-files.txt") >"$WORK/removed-other.txt"
# Besides the package's files, purge may only remove what its installation created (e.g. the
# hicolor icon cache its trigger generated), never anything that was there before.
sed 's|^\.||' "$WORK/before-install.txt" | sort >"$WORK/before-abs.txt"
comm -12 "$WORK/removed-other.txt" "$WORK/before-abs.txt" >"$WORK/removed-preexisting.txt"
[ ! -s "$WORK/removed-preexisting.txt" ] || { head -20 "$WORK/removed-preexisting.txt"; fail "purge removed files that existed before the package was installed"; }
[ ! -s "$WORK/removed-other.txt" ] && other="" || other=" and $(wc -l <"$WORK/removed-other.txt") generated at install ($(head -3 "$WORK/removed-other.txt" | tr '\n' ' '))"
comm -23 "$WORK/before-install.txt" "$WORK/after-purge.txt" >"$WORK/lost.txt"
[ ! -s "$WORK/lost.txt" ] || { head -20 "$WORK/lost.txt"; fail "paths that existed before the install are gone after the purge"; }
comm -13 "$WORK/after-install.txt" "$WORK/after-purge.txt" >"$WORK/added.txt"
[ ! -s "$WORK/added.txt" ] || { head -20 "$WORK/added.txt"; fail "purge left new files"; }
say "purge: $(wc -l <"$WORK/removed.txt") paths removed: the package's$other; nothing that existed before is gone"
say "PASS (total $(( $(date +%s) - T0 ))s)"
