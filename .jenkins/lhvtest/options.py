"""test3.py's command line: every flag and its help (the one argparse parser),
and parse_args, which checks the flags together and fills in the defaults."""

import argparse
import os
import re
import shlex

from .bochs import BOCHS_DEFAULT_CPU, BOCHS_VERSIONS, memory_mib
from .common import DEFAULT_CMDLINE, ROOT, SUBARCHS, SetupError, end_action, option_value
from .emulators import DEFAULT_TIMEOUTS, EMULATORS
from .image import grub_cfg_cmdline, prepared_iso
from .kvm import check_kvm, kvm_cpu
from .l0 import add_options as l0_add_options, l0_config
from .qemu import OVMF_IMAGE


HELP_EPILOG = """\
output: each verdict line as it arrives, timestamped in seconds since the
emulator started ("[  0.412] PASS: boot/params"); runner failures as
"FAIL: runner/<what>: ..."; the times of the first serial line, SUMMARY/FATAL
and the emulator's exit; the names of what failed ("failed: ..."); the
expected failures, counted apart ("expected failures (XFAIL, not counted
below): N: ..."); and last the plain line "N passed, N failed, N skipped"
(SKIP as skipped; FAIL, XPASS, an unexpected FATAL, a missing SUMMARY and a
missing power-off as failed; XFAIL in none of the three).

The work directory keeps serial.log (the full timestamped log; the run before
it is moved to serial.prev.log), emulator.log (the emulator's stderr),
command.txt (the exact emulator command) and the ISO. A run that boots the
tree's images while a source under xmhf/, lhv/ or hypapps/ is newer warns
("run make first, or add --build"). A stack trace in the log is looked up in
runtime-x86-SUBARCH.elf with addr2line and printed with the frames' names
(return addresses at ADDR-1; file:line in debug builds).

With Bochs also bochsrc and bochs.rc (generated), com1.out (COM1 as Bochs
wrote it), bochs.log (Bochs' own log: read it when Bochs panics or a VM entry
fails) and bochs.out (its stdout: the debugger, port 0xe9 output).

lhv.console=vga ends LHV's serial output once the platform is up: the runner
then adds lhv.e9=1 and reads the verdicts from port 0xe9 (QEMU: -debugcon into
e9.out, COM1 into com1.out; Bochs: bochs.out), and under QEMU saves the screen
at SUMMARY/FATAL as screen.png in the work directory (lhv.end=halt added,
unless --screenshot names the file or the command line has its own lhv.end=).

Bochs boots the GRUB image only. LHV ends a Bochs run through the shutdown
port 0x8900 (Bochs exits with status 1 and a "Shutdown port" panic message:
the runner counts that as the power-off); a triple fault also ends Bochs
(reset_on_triple_fault=0) and fails the run with the last serial line.
Bochs takes longer: the default timeout is 120 s (QEMU 30 s).

--compare A.log B.log (alone, no other option): reads two runs' serial.log
files and prints the tests whose verdicts differ (name, verdict in A, verdict
in B; "-" for a test only one run has), from LHV's closing "table:" lines or,
without them, the verdict lines. Exit 0 when the verdicts are the same, 1
when not, 2 when a log cannot be read.

examples:
  .jenkins/test3.py --subarch amd64
  .jenkins/test3.py --subarch i386 --boot direct --smp 4 --memory 2G --verbose
  .jenkins/test3.py --subarch amd64 --boot direct --cmdline "lhv.bogus=1" \\
      --expect-fatal "unknown option lhv.bogus"
  .jenkins/test3.py --subarch amd64 --emulator bochs --smp 2 --verbose
  .jenkins/test3.py --subarch i386 --emulator bochs --bochs-cpu atom_n270
"""


def build_parser():
    p = argparse.ArgumentParser(
        description="Boot LHV in an emulator and judge its serial test report "
                    "(docs/design.md section 4).",
        epilog=HELP_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    a = p.add_argument
    a("--subarch", required=True, choices=SUBARCHS, help="which build to boot")
    a("--compare", nargs=2, metavar=("A.log", "B.log"),
      help="compare two serial logs' verdicts instead of booting (goes alone: no other "
           "option; see below)")
    a("--xmhf-bin", metavar="DIR", default=ROOT,
      help="directory holding init-x86-SUBARCH.bin and hypervisor-x86-SUBARCH.bin[.gz] "
           "(default: the repository root, where make puts them)")
    a("--work-dir", metavar="DIR",
      help="where logs and the ISO go (default: build/test3/NAME)")
    a("--boot-dir", metavar="DIR",
      help="directory with a prepared boot image: the first .iso (by name) whose name "
           "contains the subarch is booted as is instead of building one (GRUB or UEFI "
           "boot); a missing or empty DIR, or one without such an ISO, is an error")
    a("--skip-reset-qemu", action="store_true",
      help="accepted for compatibility with the reference runner; does nothing")
    a("--skip-test", action="store_true",
      help="only build the boot image, print its path and exit")
    a("--build", action="store_true",
      help="run 'make SUBARCHS=SUBARCH' in the repository first (default: use what is built)")
    a("--emulator", default="qemu", choices=sorted(EMULATORS),
      help="emulator to run (default qemu: qemu-system-x86_64, TCG; bochs: Bochs 2.7 or 3.0 "
           "with a generated bochsrc, GRUB image only)")
    a("--boot", default="grub", choices=("grub", "direct", "uefi"),
      help="grub: a GRUB ISO made by tools/mkiso.py, booted as a raw disk by QEMU, as "
           "a CD by Bochs (the module is the .gz); direct: QEMU's multiboot loader, "
           "-kernel init -initrd hypervisor-x86-SUBARCH.bin -append CMDLINE (QEMU "
           "only); uefi: a GRUB EFI ISO (tools/mkiso.py --efi, multiboot2) under OVMF "
           "(QEMU, amd64 only; Debian's ovmf, grub-efi-amd64-bin). Default grub")
    a("--smp", type=int, default=1, metavar="N",
      help="number of CPUs (default 1): QEMU -smp N, Bochs cpu: count=N")
    a("--host-stalls", metavar="MS:EVERY",
      help="stop the emulator's process (SIGSTOP) for MS milliseconds every EVERY "
           "milliseconds of the run, as a busy host does: LHV's timing code must "
           "notice the lost time, not measure it wrong (e.g. 70:250)")
    a("--memory", default="512M", metavar="SIZE",
      help="guest RAM in QEMU -m syntax: 512M, 2G, 6G (default 512M); for Bochs "
           "megs: (memory: guest= above 2 GiB)")
    a("--cpu", metavar="MODEL",
      help="CPU model, QEMU -cpu (default qemu64; Haswell or Skylake-Client for Intel)")
    a("--bochs-cpu", metavar="MODEL",
      help="Bochs CPU model, cpu: model= (default %s, which has VMX with EPT, "
           "VPID, unrestricted guests; atom_n270 has neither VMX nor long mode; "
           "'bochs -help cpu' lists them)" % BOCHS_DEFAULT_CPU)
    a("--bochs-version", choices=BOCHS_VERSIONS,
      help="Bochs to run: 2.7 (default: Debian's bochs) or 3.0 (built by tools/bochs3.sh "
           "into build-deps/bochs-3.0). Adds lhv.bochs=VERSION to LHV's command line: the "
           "platform line names it and the XFAILs of that version's deviations apply")
    a("--timeout", type=float, metavar="S",
      help="seconds from the emulator's start to SUMMARY/FATAL before the run is "
           "killed and failed (default 30 for QEMU, 120 for Bochs); in Bochs, half of it "
           "goes to LHV as lhv.test-timeout= unless the command line gives one (not with "
           "--l0), so a test that hangs ends in LHV's FATAL naming its CPU and RIP")
    a("--cmdline", metavar="ARGS",
      help="LHV's command line: replaces the words after the init path on the GRUB "
           "cfg's multiboot line, or is the -append string for direct boot (default: "
           "the cfg's words for GRUB, %r for direct)" % DEFAULT_CMDLINE)
    mod = p.add_mutually_exclusive_group()
    mod.add_argument("--module", metavar="FILE", help="boot FILE as module 0 instead of "
                     "the hypervisor image (bad-input tests)")
    mod.add_argument("--no-module", action="store_true", help="boot without module 0")
    a("--expect-fatal", metavar="REGEX",
      help="the run passes iff a FATAL line matching REGEX (re.search) arrives and the "
           "emulator then exits by itself")
    a("--require-pass", metavar="NAME", action="append", default=[],
      help="fail unless test NAME (group/test) printed PASS; repeatable")
    a("--expect-fail", metavar="NAME:REGEX", action="append", default=[],
      help="test NAME must print FAIL with a reason matching REGEX (a failure caused on "
           "purpose, e.g. lhv.inject=phantom-cpu); that FAIL then counts as passed; repeatable")
    a("--require-skip", metavar="NAME:REGEX", action="append", default=[],
      help="fail unless test NAME printed SKIP with a reason matching REGEX; repeatable")
    a("--require-xfail", metavar="NAME:REGEX", action="append", default=[],
      help="fail unless test NAME printed XFAIL with a reason matching REGEX (a known L0 "
           "deviation the run must meet); repeatable")
    a("--junit", metavar="FILE", help="write JUnit XML for Jenkins: one testcase per "
      "verdict (classname = group), runner failures under classname runner, the "
      "serial log in system-out")
    a("--name", help="label for logs, JUnit and the default work dir "
      "(default SUBARCH-BOOT for QEMU, SUBARCH-bochs for Bochs)")
    a("--verbose", "--watch-serial", action="store_true",
      help="echo every serial line live, timestamped (default: only protocol lines)")
    a("--accel", default="tcg", choices=("tcg", "kvm"),
      help="QEMU accelerator (default tcg). kvm: -enable-kvm and -cpu host,+vmx (or --cpu "
           "MODEL with vmx=on): LHV runs nested under KVM with real VMX; needs /dev/kvm and "
           "kvm_intel nested=1 (docs/kvm.md)")
    a("--screenshot", metavar="FILE.png",
      help="QEMU only: save the VGA console as PNG when SUMMARY/FATAL arrives (monitor "
           "screendump). Adds lhv.end=halt to the command line so the screen stays up; the "
           "runner then stops QEMU")
    a("--extra-qemu-args", default="", metavar="ARGS",
      help="extra QEMU arguments, split like a shell would (e.g. \"-d int\")")
    l0_add_options(p, SUBARCHS)
    return p


def parse_args(argv):
    """Command-line words -> config (an argparse Namespace with defaults
    filled in: name, work_dir, extra_qemu_args as a list)."""
    config = build_parser().parse_args(argv)
    if config.compare:
        raise SetupError("--compare A.log B.log goes alone (it boots nothing)")
    bochs = config.emulator == "bochs"
    if config.boot == "direct" and bochs:
        raise SetupError("Bochs has no multiboot loader: it boots the GRUB image only "
                         "(drop --boot direct, or use --emulator qemu)")
    if bochs and (config.cpu or config.extra_qemu_args):
        raise SetupError("--cpu and --extra-qemu-args are QEMU's; for Bochs use --bochs-cpu")
    if config.bochs_cpu and not bochs:
        raise SetupError("--bochs-cpu needs --emulator bochs (QEMU's model is --cpu)")
    if config.bochs_version and not bochs:
        raise SetupError("--bochs-version needs --emulator bochs")
    if bochs and end_action(config.cmdline or "") == "reboot":
        raise SetupError("Bochs restarts the machine on a reset and cannot exit instead "
                         "(no -no-reboot): run lhv.end=reboot under QEMU")
    if config.smp < 1:
        raise SetupError("--smp %d: at least 1 CPU" % config.smp)
    if config.boot == "uefi":
        if config.subarch != "amd64":
            raise SetupError("--boot uefi boots amd64 only (GRUB's x86_64-efi build)")
        if not os.path.isfile(OVMF_IMAGE):
            raise SetupError("--boot uefi: %s missing: install Debian's ovmf (tools/deps.sh)"
                             % OVMF_IMAGE)
    if config.accel == "kvm":
        if bochs:
            raise SetupError("--accel kvm is QEMU's (Bochs has no accelerator)")
        check_kvm()
        config.cpu = kvm_cpu(config.cpu)
    config.cpu = config.cpu or "qemu64"
    config.bochs_cpu = config.bochs_cpu or BOCHS_DEFAULT_CPU
    l0_config(config)
    if bochs:
        config.bochs_version = config.bochs_version or BOCHS_VERSIONS[0]
        words = config.cmdline if config.cmdline is not None else grub_cfg_cmdline(
            config.subarch)
        if "lhv.bochs=" not in words:
            config.cmdline = (words + " lhv.bochs=" + config.bochs_version).strip()
    if config.timeout is None:
        config.timeout = DEFAULT_TIMEOUTS[config.emulator]
    if not config.timeout > 0:
        raise SetupError("--timeout %g: give a number of seconds above 0" % config.timeout)
    if bochs and not config.l0 and "lhv.test-timeout=" not in config.cmdline:
        # LHV's per-test deadline inside the runner's: a hang ends in LHV's
        # FATAL naming the test, CPU and RIP, not in the runner's kill
        config.cmdline += " lhv.test-timeout=%d" % max(1, int(config.timeout // 2))
    config.host_stalls = parse_host_stalls(config.host_stalls)
    if config.junit:
        config.junit = os.path.abspath(config.junit)
        if not os.path.isdir(os.path.dirname(config.junit)):
            raise SetupError("--junit %s: the directory %s does not exist (create it first)"
                             % (config.junit, os.path.dirname(config.junit)))
    if config.boot_dir:
        config.boot_dir = os.path.abspath(config.boot_dir)
        prepared_iso(config)  # refuses a --boot-dir it cannot use, before anything runs
    if bochs:
        memory_mib(config.memory)  # refuses what a bochsrc cannot say
    config.name = config.name or ("%s-bochs%s" % (config.subarch, "" if config.bochs_version
                                                  == "2.7" else "-" + config.bochs_version)
                                  if bochs else "%s-%s" % (config.subarch, config.boot))
    config.work_dir = os.path.abspath(config.work_dir
                                      or os.path.join(ROOT, "build", "test3", config.name))
    config.xmhf_bin = os.path.abspath(config.xmhf_bin)
    if config.screenshot:
        config.screenshot = os.path.abspath(config.screenshot)
    vga_console(config)
    if config.screenshot:
        if bochs:
            raise SetupError("--screenshot needs QEMU (its monitor's screendump)")
        if end_action(config.cmdline or "") != "halt":
            config.cmdline = (lhv_cmdline(config) + " lhv.end=halt").strip()
    config.extra_qemu_args = shlex.split(config.extra_qemu_args)
    if config.module:
        config.module = os.path.abspath(config.module)
        if not os.path.isfile(config.module):
            raise SetupError("--module %s: no such file" % config.module)
    if config.boot not in EMULATORS[config.emulator].boots:
        raise SetupError("%s cannot boot with --boot %s" % (config.emulator, config.boot))
    if config.expect_fatal:
        try:
            re.compile(config.expect_fatal)
        except re.error as e:
            raise SetupError("--expect-fatal %r: %s" % (config.expect_fatal, e))
    return config


def lhv_cmdline(config):
    """The command line LHV will get: --cmdline, or the default for the boot."""
    if config.cmdline is not None:
        return config.cmdline
    if config.boot == "direct":
        return DEFAULT_CMDLINE
    return grub_cfg_cmdline(config.subarch, config.boot == "uefi")


def vga_console(config):
    """lhv.console=vga stops LHV's serial output early: the runner then
    reads the verdicts from port 0xe9 (adding lhv.e9=1; QEMU -debugcon, Bochs
    port_e9_hack) and, under QEMU, saves the screen as WORK/screen.png unless
    --screenshot or an lhv.end= of the user's says otherwise."""
    words = config.cmdline or ""
    config.vga_only = option_value(words, "lhv.console") == "vga"
    if not config.vga_only:
        return
    if option_value(words, "lhv.e9") == "0":
        raise SetupError("lhv.console=vga with lhv.e9=0 leaves the runner nothing to read "
                         "(no serial output after the platform is up): drop lhv.e9=0")
    config.cmdline = words + " lhv.e9=1"
    if (config.emulator == "qemu" and not config.screenshot
            and option_value(words, "lhv.end") is None):
        config.screenshot = os.path.join(config.work_dir, "screen.png")


def parse_host_stalls(text):
    """--host-stalls MS:EVERY -> (stop seconds, period seconds), or None."""
    if not text:
        return None
    try:
        stop, every = (float(x) / 1000 for x in text.split(":"))
    except ValueError:
        stop = every = -1
    if not 0 < stop < every:
        raise SetupError("--host-stalls %r: give MS:EVERY in milliseconds, 0 < MS < EVERY "
                         "(e.g. 70:250)" % text)
    return stop, every
