#!/bin/sh
# Builds Bochs 3.0 with VMX from Debian 13's (trixie) source package and
# installs it under build-deps/bochs-3.0/ (bin/bochs). Debian 12 ships only
# Bochs 2.7; the runner uses this one for `test3.py --bochs-version 3.0`.
#
# Runs once: when build-deps/bochs-3.0/bin/bochs exists it returns at once.
# The source comes through apt with a private sources list, lists and cache
# directory (the system's apt configuration is only read, for its Debian
# mirror); apt checks the signed index and this script the tarball's hash.
# Everything is built in build-deps/bochs-3.0.tmp/ and moved into place only
# when complete, so a failed run leaves nothing a later run takes for good.
# `make distclean` removes build-deps/. Build time: docs/l0-deviations.md.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEPS="$ROOT/build-deps"
PREFIX="$DEPS/bochs-3.0"
WORK="$PREFIX.tmp"
LOG="$DEPS/bochs-3.0.log"
SUITE=trixie
VERSION_RE='^3\.0\+dfsg-'

[ -x "$PREFIX/bin/bochs" ] && exit 0

say() { echo "bochs3.sh: $*"; }
fail() {
    echo "bochs3.sh: FAILED: $1 (log: build-deps/bochs-3.0.log);" \
        "nothing was installed; fix that and run tools/bochs3.sh again" >&2
    exit 1
}

mkdir -p "$DEPS"
# One build at a time; a second caller waits and then finds the binary.
exec 9>"$DEPS/.bochs-3.0.lock"
flock 9
[ -x "$PREFIX/bin/bochs" ] && exit 0

for tool in apt-get apt-cache g++ make xz sha256sum; do
    command -v "$tool" >/dev/null 2>&1 || fail "$tool is missing (apt-get install g++ make xz-utils)"
done

# The Debian mirror the system already uses (deb822 .sources or one-line
# sources.list), and the key it is signed with.
mirror() {
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] && awk '/^URIs:/ && $2 ~ /\/debian\/?$/ { print $2; exit }' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] && awk '$1 == "deb" { for (i = 2; i <= NF; i++)
            if ($i ~ /^[a-z]+:\/\/.*\/debian\/?$/) { print $i; exit } }' "$f"
    done
}
MIRROR=$(mirror | head -n 1)
[ -n "$MIRROR" ] || fail "no Debian mirror (a URI ending in /debian) in /etc/apt/sources*"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

rm -rf "$WORK"
mkdir -p "$WORK/apt/lists/partial" "$WORK/apt/cache/archives/partial" "$WORK/src"
: >"$LOG"
echo "deb-src [signed-by=$KEYRING] $MIRROR $SUITE main" >"$WORK/apt/sources.list"
private_apt() {
    cmd=$1
    shift
    "$cmd" -o Dir::Etc::sourcelist="$WORK/apt/sources.list" -o Dir::Etc::sourceparts=- \
        -o Dir::State::Lists="$WORK/apt/lists" -o Dir::Cache="$WORK/apt/cache" \
        -o Debug::NoLocking=1 "$@"
}

say "fetching Debian 13's bochs source index ($SUITE, private apt lists)"
private_apt apt-get -q update >>"$LOG" 2>&1 || fail "apt-get update of the $SUITE source index"
record=$(private_apt apt-cache showsrc bochs 2>>"$LOG") || fail "apt-cache showsrc bochs ($SUITE)"
version=$(echo "$record" | awk '/^Version:/ { print $2; exit }')
echo "$version" | grep -Eq "$VERSION_RE" ||
    fail "$SUITE has bochs '$version', not 3.0+dfsg-*: set VERSION_RE in tools/bochs3.sh"
# The orig tarball's name and SHA-256 from the signed index; apt may fail
# on the .dsc (seen: 404) while the tarballs arrive, so the hash decides.
orig=$(echo "$record" | awk '/^Checksums-Sha256:/ { on = 1; next } /^[^ ]/ { on = 0 }
    on && $3 ~ /\.orig\.tar\.(xz|gz|bz2)$/ { print $1, $3; exit }')
[ -n "$orig" ] || fail "no orig tarball in the $SUITE index for bochs $version"
sum=${orig% *}
tarball=${orig#* }

say "downloading bochs $version source ($tarball)"
(cd "$WORK/src" && private_apt apt-get -q source --download-only "bochs=$version") >>"$LOG" 2>&1 ||
    say "apt-get source reported an error; checking the tarball's hash (see the log)"
[ -f "$WORK/src/$tarball" ] || fail "download of $tarball"
echo "$sum  $WORK/src/$tarball" | sha256sum -c --status - || fail "SHA-256 of $tarball"
tar -xf "$WORK/src/$tarball" -C "$WORK/src" >>"$LOG" 2>&1 || fail "unpacking $tarball"
srcdir=$(find "$WORK/src" -mindepth 1 -maxdepth 1 -type d | head -n 1)
[ -f "$srcdir/configure" ] || fail "no configure in $tarball"

# The CPU features of Debian's Bochs 2.7 build (its debian/rules), so both
# versions offer the same CPU models: without AVX, EVEX and CET the
# configure script leaves out every model from Ivy Bridge on, tigerlake
# included. Then SMP, the RFB display the runner already uses with 2.7, no
# GUI toolkit, no sound, no debugger (it would stop at start-up: no -rc).
jobs=$(nproc 2>/dev/null || echo 2)
say "configuring (VMX level 2, x86-64, SMP, AVX/EVEX/CET/AMX, RFB display, no debugger)"
(cd "$srcdir" && ./configure --prefix="$PREFIX" --enable-x86-64 --enable-vmx=2 \
    --enable-smp --enable-cpu-level=6 --enable-all-optimizations --enable-repeat-speedups \
    --enable-avx --enable-evex --enable-cet --enable-amx --enable-protection-keys \
    --enable-memtype --enable-svm --enable-uintr --enable-3dnow --with-rfb \
    --without-x11 --without-wx --without-sdl2 --enable-debugger=no) \
    >>"$LOG" 2>&1 || fail "configure of bochs $version"

say "compiling with make -j$jobs (4 min of CPU: 2-6 min on 2 cores)"
start=$(date +%s)
(cd "$srcdir" && make -j"$jobs") >>"$LOG" 2>&1 &
make_pid=$!
while kill -0 "$make_pid" 2>/dev/null; do
    sleep 20
    kill -0 "$make_pid" 2>/dev/null &&
        say "compiling: $(find "$srcdir" -name '*.o' | wc -l) objects after $(($(date +%s) - start)) s"
done
wait "$make_pid" || fail "make of bochs $version"
say "compiled in $(($(date +%s) - start)) s"

(cd "$srcdir" && make install DESTDIR="$WORK/stage") >>"$LOG" 2>&1 ||
    fail "make install of bochs $version"
LC_ALL=C "$WORK/stage$PREFIX/bin/bochs" -help cpu 2>&1 | grep -qw tigerlake ||
    fail "the new bochs does not run or lacks the tigerlake model"
echo "$version" >"$WORK/stage$PREFIX/VERSION"
# The source stays for reading (docs/l0-deviations.md cites its functions).
mkdir -p "$WORK/stage$PREFIX/src"
mv "$WORK/src/$tarball" "$WORK/stage$PREFIX/src/"
rm -rf "$PREFIX" # whatever is there has no bin/bochs: not a finished build
mv "$WORK/stage$PREFIX" "$PREFIX" || fail "moving the build into $PREFIX"
rm -rf "$WORK"
say "installed bochs $version in build-deps/bochs-3.0/"
