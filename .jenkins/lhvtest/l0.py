"""LHV as L0 (--l0 GUEST, docs/l0.md): module 0 the L0's image, module 1 the
guest's init with the guest's command line (module 1's string), module 2 the
guest's image. The L0's runtime starts its lines with "L0: "; the run ends at
its SUMMARY or FATAL, which follows the guest's SUMMARY. Both are judged: the
guest's lines as a run of their own, the L0's (prefix removed) as another,
its verdicts as JUnit class L0.GROUP."""

import os
import re
import tempfile

from .common import ROOT, SetupError
from .image import BootImage, built_file, load_mkiso, prepare_boot
from .serial import L0_PREFIX
from .verdicts import Problem, judge

L0_CFG = os.path.join(ROOT, "grub", "gr64-l0.cfg")


def add_options(p, subarchs):
    l0 = p.add_argument_group("LHV as L0 (docs/l0.md)")
    l0.add_argument("--l0", choices=subarchs, metavar="GUEST",
                    help="boot LHV as L0 (lhv.l0=1, the --subarch build) with the GUEST build "
                         "(amd64 or i386) as its guest: the four-module list of "
                         "grub/gr64-l0.cfg (QEMU direct boot: -initrd \"a,b,c\"); both SUMMARYs "
                         "are judged, the L0's lines ('L0: ') as JUnit class L0.GROUP")
    l0.add_argument("--l0-cmdline", metavar="ARGS", default="serial=115200,8n1,0x3f8",
                    help="the guest's command line (module 1's string; default %(default)s)")
    l0.add_argument("--l0-kernel", metavar="FILE",
                    help="FILE as module 1, the guest kernel (bad-input tests)")
    l0.add_argument("--l0-no-guest", action="store_true",
                    help="module 0 only: no guest kernel (bad-input test)")


def l0_config(config):
    if not getattr(config, "l0", None):
        if config.l0_kernel or config.l0_no_guest:
            raise SetupError("--l0-kernel and --l0-no-guest need --l0 GUEST")
        return
    if config.boot == "uefi" or config.boot_dir:
        raise SetupError("--l0 builds its own image: GRUB (BIOS) or direct boot only")
    if config.l0_kernel:
        config.l0_kernel = os.path.abspath(config.l0_kernel)
        if not os.path.isfile(config.l0_kernel):
            raise SetupError("--l0-kernel %s: no such file" % config.l0_kernel)
    if config.cmdline is None:
        config.cmdline = "serial=115200,8n1,0x3f8 lhv.l0=1"
    config.name = config.name or "l0-%s-%s-%s" % (config.subarch, config.l0, config.emulator)


def l0_boot_image(config):
    """The four-module boot (or the L0's image alone with --l0-no-guest)."""
    sub, guest = config.subarch, config.l0
    kernel = built_file(config, "init-x86-%s.bin" % sub)
    guest_kernel = config.l0_kernel or built_file(config, "init-x86-%s.bin" % guest)
    if config.boot == "direct":
        mods = [config.module or built_file(config, "hypervisor-x86-%s.bin" % sub)]
        if not config.l0_no_guest:
            mods += [guest_kernel, built_file(config, "hypervisor-x86-%s.bin" % guest)]
        for m in mods:
            if re.search(r"[, ]", m):
                raise SetupError("QEMU's -initrd cannot take a path with a comma or space: %s"
                                 % m)
        if not config.l0_no_guest:  # QEMU writes a comma in a module's string twice
            mods[1] += " " + config.l0_cmdline.replace(",", ",,")
        return BootImage(kernel=kernel, module=",".join(mods), cmdline=config.cmdline)
    module0 = config.module or built_file(config, "hypervisor-x86-%s.bin.gz" % sub)
    guest_image = built_file(config, "hypervisor-x86-%s.bin.gz" % guest)
    with open(L0_CFG) as f:
        text = f.read()
    out, n = [], 0
    for line in text.splitlines():
        words = line.split()
        indent = line[:len(line) - len(line.lstrip())]
        if words and words[0] == "multiboot":
            line = "%smultiboot /boot/%s %s" % (indent, os.path.basename(kernel), config.cmdline)
        elif words and words[0] == "module":
            if n > 0 and config.l0_no_guest:
                continue
            path = (module0, guest_kernel, guest_image)[min(n, 2)]
            line = "%smodule /boot/%s%s" % (indent, os.path.basename(path),
                                            " " + config.l0_cmdline if n == 1 else "")
            n += 1
        out.append(line)
    cfg = "\n".join(out) + "\n"
    sources = {os.path.basename(p): p for p in (kernel, module0, guest_kernel, guest_image)}
    mkiso = load_mkiso()
    iso = os.path.join(config.work_dir, "lhv-l0-%s-%s.iso" % (sub, guest))
    try:
        mkiso.check_tools()
        with tempfile.TemporaryDirectory(prefix="test3-l0-") as tmp:
            mkiso.stage(cfg, sources, os.path.join(tmp, "iso", "boot"))
            mkiso.run_mkrescue(os.path.join(tmp, "iso"), iso)
    except mkiso.MkisoError as e:
        raise SetupError("mkiso: %s" % e)
    return BootImage(iso=iso)


def boot_image(config):
    """What the emulator boots: the L0's four modules with --l0, else prepare_boot's."""
    return l0_boot_image(config) if getattr(config, "l0", None) else prepare_boot(config)


def l0_judge(config, lines, outcome):
    """Both summaries, merged; the L0's verdicts as L0.GROUP/TEST. With
    --expect-fatal the run is the L0's alone (a bad module list)."""
    if config.expect_fatal:
        own = [(t, x[len(L0_PREFIX):] if x.startswith(L0_PREFIX) else x) for t, x in lines]
        return judge(config.name, own, outcome, config.cmdline or "", config.expect_fatal)
    guest = [(t, x) for t, x in lines if not x.startswith(L0_PREFIX)]
    l0 = [(t, x[len(L0_PREFIX):]) for t, x in lines if x.startswith(L0_PREFIX)]
    result = judge(config.name, guest, outcome, config.l0_cmdline, None, config.require_pass,
                   config.require_skip, config.expect_fail, config.require_xfail)
    own = judge(config.name + "-l0", l0, outcome, config.cmdline or "")
    for v in own.verdicts:
        v.name = "L0." + v.name
    result.verdicts += own.verdicts
    result.problems += [Problem("l0-" + p.name, p.message) for p in own.problems]
    result.lines = list(lines)
    return result
