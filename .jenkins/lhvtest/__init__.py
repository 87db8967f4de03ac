"""LHV's regression runner, the package behind .jenkins/test3.py
(docs/design.md section 4).

Boots LHV in an emulator, timestamps its serial output, parses the verdict
lines (PASS/FAIL/SKIP/XFAIL/XPASS, FATAL, SUMMARY), stops at SUMMARY or
FATAL, checks that the emulator then powers off by itself, optionally writes
JUnit XML, and ends with the plain line "N passed, N failed, N skipped".
Exit status 0 only when a SUMMARY (or the expected FATAL) arrived and nothing
failed; 1 when something failed; 2 when the run could not be set up.

Emulators: QEMU (TCG or KVM; GRUB image, GRUB EFI image under OVMF, or
direct multiboot boot) and Bochs 2.7 or 3.0 (GRUB image only; the bochsrc
is generated in the work directory).

The modules, each importing only those above it in this list:
    common     ROOT, SetupError, lhv.* words of a command line
    serial     cleaning and parsing serial lines; reading them live
    verdicts   judge(): lines + how the emulator ended -> Result
    compare    --compare A.log B.log
    report     the closing lines; junit: the JUnit XML
    traces     stack traces named from the runtime ELF
    image      the boot image (GRUB ISO, direct boot), stale-image warning
    l0         --l0: LHV as L0 with its guest (four modules), both summaries judged
    qemu, bochs, emulators   the backends: command line, bochsrc, how it ended
    kvm        --accel kvm's host checks
    run        run_once(): one boot, judged
    options    the flags (the one argparse parser) and parse_args()
    probe      the KVM probe boot (--accel kvm, make bench)
    cli        main(), what test3.py runs

Used from tests/system/matrix.py, tools/bench/bench.py, tools/l0compare.py:
    sys.path.insert(0, os.path.join(ROOT, ".jenkins"))
    import lhvtest
    config = lhvtest.parse_args(["--subarch", "amd64", "--boot", "direct"])
    result = lhvtest.run_once(config)   # -> Result; result.ok, result.counts()

The names below are the package's interface. A test that replaces a
module-level value (kvm.KVM_DEVICE, run.run_once, probe.probe_kvm) sets it
on its module, where the code reads it, not here.
"""

from .common import (DEFAULT_CMDLINE, POWEROFF_GRACE, ROOT, SUBARCHS, Interrupted, SetupError,
                     console_path, end_action, option_value, stderr_tail)
from .serial import (VERDICT_KINDS, Event, SerialSession, clean_line, format_line, parse_line,
                     parse_summary)
from .verdicts import Outcome, Problem, Result, judge
from .compare import compare_lines, compare_main, compare_verdicts, log_verdicts
from .report import report_lines
from .junit import JUNIT_LOG_LINES, junit_xml
from .traces import elf_symbols, symbolised_frames, trace_addresses
from .image import BootImage, grub_cfg_cmdline, load_mkiso, prepare_boot, stale_warning
from .l0 import boot_image, l0_boot_image, l0_judge
from .qemu import OVMF_IMAGE, Qemu
from .bochs import (BOCHS_BINARIES, BOCHS_DEFAULT_CPU, BOCHS_VERSIONS, Bochs, bochs_exit_detail,
                    bochs_exit_kind, bochsrc_text, memory_mib)
from .emulators import DEFAULT_TIMEOUTS, EMULATORS
from .kvm import check_kvm, kvm_cpu
from .run import keep_previous_log, run_once
from .options import build_parser, parse_args, parse_host_stalls
from .probe import probe_kvm
from .cli import main
