#!/bin/sh
# Installs the Debian packages LHV needs to build, test and boot, if any is
# missing. Quiet when everything is already there; safe to run again.
# `tools/deps.sh fuzz` also installs clang and its libFuzzer runtime (make fuzz).
# Each step prints one line; apt's own output goes to build/deps.log and is
# shown (its end) only when a step fails.
set -eu

PACKAGES="gcc make binutils gzip grub-pc-bin grub-common xorriso mtools
qemu-system-x86 bochs bochsbios vgabios libcmocka-dev python3 gdb g++ xz-utils
ovmf grub-efi-amd64-bin"
if [ "${1:-}" = fuzz ]; then
    PACKAGES="$PACKAGES clang libclang-rt-14-dev"
fi
LOG="${DEPS_LOG:-$(dirname "$0")/../build/deps.log}"

# One dpkg-query call for all of them (one per package costs ~30 ms each).
# shellcheck disable=SC2086  # $PACKAGES is a word list on purpose
present=$(dpkg-query -W -f='${Package} ${Status}\n' $PACKAGES 2>/dev/null |
    awk '$NF == "installed" { print $1 }') || true

missing=""
for pkg in $PACKAGES; do
    echo "$present" | grep -qx "$pkg" || missing="$missing $pkg"
done
# Then Bochs 3.0, the second L0, built once into build-deps/ (tools/bochs3.sh);
# LHV_BOCHS3=skip leaves it out (the runner's --bochs-version 3.0 then says so).
bochs3() {
    [ "${LHV_BOCHS3:-}" = skip ] && exit 0
    exec sh "$(dirname "$0")/bochs3.sh"
}
[ -z "$missing" ] && bochs3

if [ "$(id -u)" -eq 0 ]; then
    sudo=""
elif command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
else
    echo "deps.sh: missing:$missing" >&2
    echo "deps.sh: not root and no sudo; as root, run:" >&2
    echo "  apt-get update && apt-get install -y --no-install-recommends$missing" >&2
    exit 1
fi

mkdir -p "$(dirname "$LOG")"
: >"$LOG"

# step WHAT COMMAND...: one line for the step; the command's output into the
# log; on failure the log's end and where the whole of it is.
step() {
    what=$1
    shift
    printf 'deps.sh: %s ... ' "$what"
    echo "### $what: $*" >>"$LOG"
    if "$@" >>"$LOG" 2>&1; then
        echo ok
    else
        echo FAILED
        echo "deps.sh: '$*' failed; the end of $LOG (the whole output is there):" >&2
        tail -n 25 "$LOG" >&2
        exit 1
    fi
}

step "apt-get update" $sudo apt-get update -q
# shellcheck disable=SC2086  # $missing is a word list on purpose
step "installing$missing" $sudo env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends $missing
echo "deps.sh: done (apt's output: $LOG)"
bochs3
