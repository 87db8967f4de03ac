#!/bin/sh
# Installs the Debian packages LHV needs to build, test and boot, if any is
# missing. Quiet when everything is already there; safe to run again.
# `tools/deps.sh fuzz` also installs clang and its libFuzzer runtime (make fuzz).
set -eu

PACKAGES="gcc make binutils gzip grub-pc-bin grub-common xorriso mtools
qemu-system-x86 bochs bochsbios vgabios libcmocka-dev python3 gdb g++ xz-utils
ovmf grub-efi-amd64-bin"
if [ "${1:-}" = fuzz ]; then
    PACKAGES="$PACKAGES clang libclang-rt-14-dev"
fi

# One dpkg-query call for all of them (one per package costs ~30 ms each).
# shellcheck disable=SC2086  # $PACKAGES is a word list on purpose
present=$(dpkg-query -W -f='${Package} ${Status}\n' $PACKAGES 2>/dev/null |
    awk '$NF == "installed" { print $1 }') || true

missing=""
for pkg in $PACKAGES; do
    echo "$present" | grep -qx "$pkg" || missing="$missing $pkg"
done
# Then Bochs 3.0, the second L0, built once into build-deps/ (tools/bochs3.sh).
[ -z "$missing" ] && exec sh "$(dirname "$0")/bochs3.sh"

echo "deps.sh: installing$missing"
if [ "$(id -u)" -eq 0 ]; then
    sudo=""
elif command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
else
    echo "deps.sh: not root and no sudo; as root, run:" >&2
    echo "  apt-get update && apt-get install -y --no-install-recommends$missing" >&2
    exit 1
fi

$sudo apt-get update -qq
# shellcheck disable=SC2086  # $missing is a word list on purpose
$sudo env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends $missing
exec sh "$(dirname "$0")/bochs3.sh"
