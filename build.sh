#!/usr/bin/env bash
# build.sh: seed-compatible entry point to the LHV build (the Makefile does
# the work). See --help and docs/options.md.
set -euo pipefail
cd "$(dirname "$0")"

usage() {
    cat <<'USAGE'
usage: ./build.sh {amd64|i386} [options]

Builds LHV for one subarchitecture and leaves in the tree root:
  init-x86-SUBARCH.bin           multiboot v1 kernel (GRUB 'multiboot', QEMU -kernel)
  hypervisor-x86-SUBARCH.bin.gz  SL + runtime image for GRUB's 'module' line
  hypervisor-x86-SUBARCH.bin     the same, uncompressed (QEMU -initrd)
  init-, sl-, runtime-x86-SUBARCH.elf   ELF files with symbols (gdb)

options:
  --app DIR             hypapp to link (default hypapps/helloworld)
  --sl-base ADDR        physical address the SL + runtime are linked for and
                        copied to (default 0x10000000 = 256 MiB); a multiple
                        of 2 MiB, at least 16 MiB, below 2 GiB (amd64: the
                        runtime uses the small code model) or 4 GiB (i386)
  --target-base ADDR    alias of --sl-base
  --debug               debug build: -Og, LHV_DEBUG=1 (build/SUBARCH-debug)
  --no-ucode            accepted for compatibility with XMHF's build; LHV does
                        no microcode update, so it changes nothing
  -j N                  parallel jobs (default: number of CPUs)
  -n                    print the make command and do nothing
  -h, --help            this text
USAGE
}

die() {
    echo "build.sh: $*" >&2
    echo "build.sh: see ./build.sh --help" >&2
    exit 2
}

subarch=""
app="hypapps/helloworld"
sl_base="0x10000000"
debug=0
dry_run=0
jobs="" # none: make picks (as many as CPUs, or the job slots of a make running this)

while [ $# -gt 0 ]; do
    case "$1" in
    amd64 | i386)
        [ -z "$subarch" ] || die "subarch given twice ($subarch, $1)"
        subarch="$1" ;;
    --app)
        [ $# -ge 2 ] || die "--app needs a directory"
        app="${2%/}"; shift ;;
    --sl-base | --target-base)
        [ $# -ge 2 ] || die "$1 needs an address"
        sl_base="$2"; shift ;;
    --debug) debug=1 ;;
    --no-ucode) ;;
    -j)
        [ $# -ge 2 ] || die "-j needs a number"
        jobs="$2"; shift ;;
    -j*) jobs="${1#-j}" ;;
    -n) dry_run=1 ;;
    -h | --help) usage; exit 0 ;;
    --drt | --with-drt | --dmap | --enable-drt | --enable-dmap)
        die "$1: LHV has no DRT/DMA protection (XMHF's TXT/SVM late launch); remove the flag" ;;
    *) die "unknown option or argument '$1'" ;;
    esac
    shift
done

[ -n "$subarch" ] || die "give the subarchitecture: amd64 or i386"
[ -d "$app" ] || die "--app $app: no such directory"
ls "$app"/*.c >/dev/null 2>&1 || die "--app $app: no .c files in it"
[ -z "$jobs" ] || [[ "$jobs" =~ ^[1-9][0-9]*$ ]] || die "-j $jobs: not a positive number"

# The base: a number, 2 MiB aligned, in range for the subarch.
[[ "$sl_base" =~ ^(0x[0-9a-fA-F]+|[0-9]+)$ ]] || die "--sl-base $sl_base: not a number"
base=$((sl_base))
limit=$([ "$subarch" = amd64 ] && echo $((0x80000000)) || echo $((0x100000000)))
((base % 0x200000 == 0)) || die "--sl-base $sl_base: not a multiple of 2 MiB (0x200000)"
((base >= 0x1000000)) || die "--sl-base $sl_base: below 16 MiB, where loaders put init and modules"
((base + 0x1000000 <= limit)) || die "--sl-base $sl_base: too high for $subarch (limit $(printf 0x%x $limit) minus 16 MiB)"

cmd=(make ${jobs:+-j"$jobs"} SUBARCHS="$subarch" APP="$app" SL_BASE="$(printf 0x%x "$base")" DEBUG="$debug" "$subarch")
if [ "$dry_run" = 1 ]; then
    echo "${cmd[*]}"
    exit 0
fi
"${cmd[@]}"
echo "build.sh: built init-x86-$subarch.bin, hypervisor-x86-$subarch.bin(.gz) ($app, base $(printf 0x%x "$base")$([ "$debug" = 1 ] && echo ', debug'))"
