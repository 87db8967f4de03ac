#!/usr/bin/python3
"""Make a bootable GRUB ISO (BIOS, hybrid: boots as a CD or as a disk) for LHV.

The GRUB menu comes from grub/gr64.cfg (amd64) or grub/gr32.cfg (i386), the
single source of the boot entry; the options below only rewrite its
multiboot and module lines. Needs Debian's grub-pc-bin, grub-common and
xorriso (tools/deps.sh installs them); no root.

--efi makes a UEFI ISO instead (GRUB's x86_64-efi build, from
grub/gr64-efi.cfg: multiboot2 and module2 lines; amd64 only). It needs
grub-efi-amd64-bin and mtools (for the EFI system partition image).

    tools/mkiso.py amd64 build/lhv-amd64.iso
    tools/mkiso.py i386 x.iso --cmdline "serial=115200,8n1,0x3f8 lhv.tests=vmx/*"
    tools/mkiso.py amd64 x.iso --module /tmp/corrupt.bin
    tools/mkiso.py amd64 build/lhv-amd64-efi.iso --efi
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GRUB_PLATFORM_DIR = "/usr/lib/grub/i386-pc"
GRUB_EFI_PLATFORM_DIR = "/usr/lib/grub/x86_64-efi"
CFG_NAMES = {"amd64": "gr64.cfg", "i386": "gr32.cfg"}
EFI_CFG_NAMES = {"amd64": "gr64-efi.cfg"}
# The boot-entry verbs: multiboot v1 (BIOS) and multiboot2 (EFI).
KERNEL_VERBS = ("multiboot", "multiboot2")
MODULE_VERBS = ("module", "module2")

# Only what a boot entry like ours uses: the ISO shrinks from 9.5 MB to under
# 1 MB. The CD and disk drivers are in GRUB's core image anyway.
GRUB_MODULES = ("normal serial terminal multiboot multiboot2 gzio echo test "
                "search halt reboot part_msdos part_gpt")
GRUB_EFI_MODULES = ("normal serial terminal multiboot2 gzio echo test "
                    "search halt reboot part_msdos part_gpt part_acorn part_amiga "
                    "part_bsd part_dfly part_dvh part_plan part_sun part_sunpc")


class MkisoError(Exception):
    """A problem the user can fix: missing tool, file or cfg line."""


def rewrite_cfg(text, cmdline=None, module_name=None, no_module=False):
    """Returns the GRUB cfg text with the multiboot arguments replaced by
    cmdline (None keeps them), the module path replaced by /boot/module_name
    (None keeps it), or the module line dropped (no_module)."""
    out = []
    seen = set()
    for line in text.splitlines():
        words = line.split()
        verb = words[0] if words else ""
        indent = line[:len(line) - len(line.lstrip())]
        if verb in KERNEL_VERBS:
            seen.add("multiboot")
            if cmdline is not None:
                line = " ".join([indent + verb, words[1], cmdline]).rstrip()
        elif verb in MODULE_VERBS:
            seen.add("module")
            if no_module:
                continue
            if module_name is not None:
                line = " ".join([indent + verb, "/boot/" + module_name] + words[2:])
        out.append(line)
    for verb in ("multiboot", "module"):
        if verb not in seen:
            raise MkisoError("the GRUB cfg has no '%s' line" % verb)
    return "\n".join(out) + "\n"


def boot_paths(cfg_text):
    """The /boot/... files the cfg's multiboot and module lines name."""
    paths = []
    for line in cfg_text.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] in KERNEL_VERBS + MODULE_VERBS:
            paths.append(words[1])
    return paths


def check_tools(efi=False):
    tools = [("grub-mkrescue", "grub-common"), ("xorriso", "xorriso")]
    if efi:
        tools.append(("mformat", "mtools"))
    for tool, package in tools:
        if shutil.which(tool) is None:
            raise MkisoError("%s not found: install %s (tools/deps.sh installs "
                             "every package LHV needs)" % (tool, package))
    platform_dir, package = ((GRUB_EFI_PLATFORM_DIR, "grub-efi-amd64-bin") if efi
                             else (GRUB_PLATFORM_DIR, "grub-pc-bin"))
    if not os.path.isdir(platform_dir):
        raise MkisoError("%s missing: install %s (tools/deps.sh)" % (platform_dir, package))


def stage(cfg_text, sources, boot_dir):
    """Writes boot_dir/grub/grub.cfg and copies each file the cfg names
    (/boot/NAME) from sources[NAME]."""
    os.makedirs(os.path.join(boot_dir, "grub"))
    with open(os.path.join(boot_dir, "grub", "grub.cfg"), "w") as f:
        f.write(cfg_text)
    for path in boot_paths(cfg_text):
        name = os.path.basename(path)
        src = sources[name]
        if not os.path.isfile(src):
            raise MkisoError("%s not found (build it with make, or pass "
                             "--bin-dir)" % src)
        shutil.copyfile(src, os.path.join(boot_dir, name))


# xorriso 1.5.4 (Debian 12) now and then dies of a signal as it exits, after
# writing the image ("UNIX-SIGNAL: SIGSEGV" in its output; about one run in
# a hundred here): grub-mkrescue then fails. Such a crash is tried again.
XORRISO_CRASH = "UNIX-SIGNAL:"
MKRESCUE_TRIES = 3


def run_mkrescue(staging, output, efi=False):
    cmd = ["grub-mkrescue", "-d", GRUB_EFI_PLATFORM_DIR if efi else GRUB_PLATFORM_DIR,
           "--install-modules=" + (GRUB_EFI_MODULES if efi else GRUB_MODULES),
           "--fonts=", "--locales=", "--themes=", "-o", output, staging]
    for attempt in range(1, MKRESCUE_TRIES + 1):
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
        if proc.returncode == 0:
            return
        if XORRISO_CRASH not in proc.stdout or attempt == MKRESCUE_TRIES:
            break
        print("mkiso: xorriso crashed (%s); trying again" % proc.stdout.split(
            XORRISO_CRASH, 1)[1].split()[0], file=sys.stderr)
    raise MkisoError("grub-mkrescue failed (status %d):\n%s"
                     % (proc.returncode, proc.stdout.strip()))


def make_iso(subarch, output, bin_dir=ROOT, cmdline=None, module=None,
             no_module=False, cfg=None, efi=False):
    """Builds the ISO at output. cmdline replaces the multiboot arguments,
    module replaces module 0's file, no_module drops it; cfg overrides the
    GRUB cfg file (default grub/gr64.cfg or gr32.cfg; with efi, a UEFI ISO
    from grub/gr64-efi.cfg)."""
    if subarch not in CFG_NAMES:
        raise MkisoError("unknown subarch %r (amd64 or i386)" % subarch)
    if efi and subarch not in EFI_CFG_NAMES:
        raise MkisoError("--efi boots amd64 only (GRUB's x86_64-efi build)")
    check_tools(efi)
    names = EFI_CFG_NAMES if efi else CFG_NAMES
    cfg = cfg or os.path.join(ROOT, "grub", names[subarch])
    try:
        with open(cfg) as f:
            cfg_text = f.read()
    except OSError as e:
        raise MkisoError("cannot read the GRUB cfg: %s" % e)
    module_name = os.path.basename(module) if module else None
    cfg_text = rewrite_cfg(cfg_text, cmdline, module_name, no_module)
    sources = {os.path.basename(p): os.path.join(bin_dir, os.path.basename(p))
               for p in boot_paths(cfg_text)}
    if module:
        sources[module_name] = module
    with tempfile.TemporaryDirectory(prefix="mkiso-") as tmp:
        stage(cfg_text, sources, os.path.join(tmp, "iso", "boot"))
        run_mkrescue(os.path.join(tmp, "iso"), output, efi)
    return output


def main(argv=None):
    p = argparse.ArgumentParser(
        description="Make a bootable hybrid GRUB ISO (BIOS) holding LHV's "
                    "init and hypervisor image, from grub/gr64.cfg or gr32.cfg.")
    p.add_argument("subarch", choices=sorted(CFG_NAMES), help="which build to boot")
    p.add_argument("output", help="the ISO file to write")
    p.add_argument("--cmdline", metavar="ARGS",
                   help="replace the words after the init path on the multiboot "
                        "line (the kernel's command line)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--module", metavar="FILE",
                       help="use FILE as module 0 instead of hypervisor-x86-*.bin.gz")
    group.add_argument("--no-module", action="store_true",
                       help="leave the module line out")
    p.add_argument("--bin-dir", metavar="DIR", default=ROOT,
                   help="directory holding init-x86-*.bin and hypervisor-x86-*.bin.gz "
                        "(default: the repository root)")
    p.add_argument("--cfg", metavar="FILE",
                   help="GRUB cfg to start from (default: grub/gr64.cfg or gr32.cfg)")
    p.add_argument("--efi", action="store_true",
                   help="a UEFI ISO (GRUB x86_64-efi, multiboot2) from grub/gr64-efi.cfg; "
                        "amd64 only")
    args = p.parse_args(argv)
    try:
        make_iso(args.subarch, args.output, args.bin_dir, args.cmdline,
                 args.module, args.no_module, args.cfg, args.efi)
    except MkisoError as e:
        print("mkiso: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
