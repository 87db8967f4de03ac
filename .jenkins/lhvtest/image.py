"""What the emulator boots: a GRUB ISO made by tools/mkiso.py (or a prepared
one from --boot-dir), or kernel + module + command line for QEMU's direct
multiboot boot; the GRUB cfg's own command line; and the warning when the
tree's images are older than its sources."""

import dataclasses
import glob
import importlib.util
import os
import re

from .common import DEFAULT_CMDLINE, ROOT, SetupError


@dataclasses.dataclass
class BootImage:
    """What the emulator boots: an ISO (GRUB) or kernel + module + cmdline
    (direct multiboot boot; module None = no module)."""
    iso: str = None
    efi: bool = False             # the ISO boots under UEFI firmware (OVMF)
    kernel: str = None
    module: str = None
    cmdline: str = ""

    def describe(self):
        if self.iso:
            return self.iso
        return "kernel %s, module %s, cmdline %r" % (self.kernel, self.module, self.cmdline)


def load_mkiso():
    path = os.path.join(ROOT, "tools", "mkiso.py")
    spec = importlib.util.spec_from_file_location("lhv_mkiso", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def built_file(config, name):
    path = os.path.join(config.xmhf_bin, name)
    if os.path.isfile(path):
        return path
    if config.boot == "direct" and os.path.isfile(path + ".gz"):
        raise SetupError("%s not found, only %s.gz: direct boot needs the uncompressed image "
                         "(QEMU's -initrd does not unpack gzip; GRUB does): gunzip -k %s.gz, "
                         "or boot it with --boot grub" % (path, name, path))
    raise SetupError("%s not found: run make (or test3.py --build), or pass --xmhf-bin DIR "
                     "(the directory holding init-x86-%s.bin and hypervisor-x86-%s.bin.gz)"
                     % (path, config.subarch, config.subarch))


def prepared_iso(config):
    """The ISO for the subarch in --boot-dir, or None without --boot-dir.
    Raises SetupError when --boot-dir is given but cannot be used: the user
    must not believe a freshly built image was theirs."""
    if not config.boot_dir:
        return None
    where = "--boot-dir %s" % config.boot_dir
    if config.boot == "direct":
        raise SetupError("%s holds GRUB images: it cannot go with --boot direct "
                         "(use --xmhf-bin DIR for the direct boot's files)" % where)
    if not os.path.isdir(config.boot_dir):
        raise SetupError("%s: no such directory" % where)
    isos = sorted(glob.glob(os.path.join(config.boot_dir, "*%s*.iso" % config.subarch)))
    if not isos:
        held = sorted(os.listdir(config.boot_dir))
        what = "it is empty" if not held else "it holds %s" % ", ".join(held[:8]) + (
            ", ..." if len(held) > 8 else "")
        raise SetupError("%s: no ISO whose name contains %s (*%s*.iso); %s"
                         % (where, config.subarch, config.subarch, what))
    if config.cmdline is not None or config.module or config.no_module:
        raise SetupError("%s is prepared: it cannot take --cmdline, --module or --no-module"
                         % isos[0])
    return isos[0]


def prepare_boot(config):
    """Builds (or finds) what the emulator boots."""
    sub = config.subarch
    if config.boot in ("grub", "uefi"):
        efi = config.boot == "uefi"
        iso = prepared_iso(config)
        if iso:
            return BootImage(iso=iso, efi=efi)
        built_file(config, "init-x86-%s.bin" % sub)  # test3's words, not mkiso's
        if not config.module and not config.no_module:
            built_file(config, "hypervisor-x86-%s.bin.gz" % sub)
        mkiso = load_mkiso()
        iso = os.path.join(config.work_dir, "lhv-%s%s.iso" % (sub, "-efi" if efi else ""))
        try:
            mkiso.make_iso(sub, iso, config.xmhf_bin, config.cmdline, config.module,
                           config.no_module, efi=efi)  # cmdline None: the cfg's own
        except mkiso.MkisoError as e:
            raise SetupError("mkiso: %s" % e)
        return BootImage(iso=iso, efi=efi)
    kernel = built_file(config, "init-x86-%s.bin" % sub)
    module = None
    if not config.no_module:
        module = config.module or built_file(config, "hypervisor-x86-%s.bin" % sub)
        if re.search(r"[, ]", module):
            raise SetupError("QEMU's -initrd cannot take a path with a comma or space: %s" % module)
    return BootImage(kernel=kernel, module=module, cmdline=config.cmdline or DEFAULT_CMDLINE)


def grub_cfg_cmdline(subarch, efi=False):
    """The words after the init path on the GRUB cfg's multiboot (or, efi,
    multiboot2) line."""
    mkiso = load_mkiso()
    path = os.path.join(ROOT, "grub", (mkiso.EFI_CFG_NAMES if efi else mkiso.CFG_NAMES)[subarch])
    with open(path) as f:
        for line in f:
            words = line.split()
            if len(words) >= 2 and words[0] in ("multiboot", "multiboot2"):
                return " ".join(words[2:])
    raise SetupError("%s has no multiboot line" % path)


# Sources whose change makes the tree root's images stale: init is built
# from its own stage and the library only (make leaves it alone when lhv/
# changes), the hypervisor image from everything.
SOURCE_DIRS = ("xmhf", "lhv", "hypapps")
INIT_SOURCE_DIRS = ("xmhf/init", "xmhf/lib", "xmhf/include")
SOURCE_SUFFIXES = (".c", ".h", ".S", ".ld")


def newest_source(root, dirs, than):
    """The newest source file under root/dirs changed after time `than`, or None."""
    newest, newest_time = None, than
    for top in dirs:
        for d, _, files in os.walk(os.path.join(root, top)):
            for f in files:
                path = os.path.join(d, f)
                if f.endswith(SOURCE_SUFFIXES) and os.path.getmtime(path) > newest_time:
                    newest, newest_time = path, os.path.getmtime(path)
    return newest


def images_booted(config):
    """The files of the tree this run boots (the ones make writes)."""
    sub = config.subarch
    names = ["init-x86-%s.bin" % sub]
    if not config.module and not config.no_module:
        names.append("hypervisor-x86-%s.bin%s" % (sub, "" if config.boot == "direct" else ".gz"))
    return [os.path.join(config.xmhf_bin, n) for n in names]


def stale_warning(config, root=ROOT):
    """A warning when a source file of the tree is newer than an image this
    run boots from it, else ''. Only for the images make builds in root."""
    if config.xmhf_bin != root or config.boot_dir:
        return ""
    for image in images_booted(config):
        if not os.path.isfile(image):
            continue
        init = os.path.basename(image).startswith("init-")
        newest = newest_source(root, INIT_SOURCE_DIRS if init else SOURCE_DIRS,
                               os.path.getmtime(image))
        if newest:
            return ("warning: %s changed after %s was built: this run boots the old image "
                    "(run make first, or add --build)" % (os.path.relpath(newest, root),
                                                          os.path.basename(image)))
    return ""
