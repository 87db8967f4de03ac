"""Stack traces in the serial log, named from the runtime ELF (nm, addr2line)."""

import os
import re
import subprocess

from .common import ROOT


# Stack traces: LHV prints the faulting ip and, per frame, the return address
# (release builds) or FUNCTION+0xOFFSET (debug builds, tools/symtab.py). The
# runner looks them up in the runtime ELF with addr2line: a return address
# at ADDR-1 (the call itself: after a call to a noreturn function ADDR is
# already in the next function), with file:line where the ELF has DWARF
# (debug builds).

TRACE_IP_RE = re.compile(r"^\s+ip (0x[0-9a-f]+) cs ")
TRACE_RE = re.compile(r"^\s+stack trace:(.*)$")
FRAME_RE = re.compile(r"^(?:0x([0-9a-f]+)|([A-Za-z_.$][\w.$]*)\+0x([0-9a-f]+))$")


def trace_addresses(texts):
    """Serial lines -> one list per stack trace of (label, address to look
    up): the ip of the report before it (as is), then each frame (ADDR-1).
    Debug frames NAME+0xOFF give ('NAME+0xOFF', (NAME, OFF-1))."""
    traces, ip = [], None
    for text in texts:
        m = TRACE_IP_RE.match(text)
        if m:
            ip = m.group(1)
            continue
        m = TRACE_RE.match(text)
        if not m:
            continue
        frames = [("ip " + ip, int(ip, 16))] if ip else []
        for word in m.group(1).split():
            f = FRAME_RE.match(word)
            if f and f.group(1):
                frames.append((word, int(f.group(1), 16) - 1))
            elif f:
                frames.append((word, (f.group(2), int(f.group(3), 16) - 1)))
        traces.append(frames)
        ip = None
    return traces


def elf_symbols(elf):
    """{name: address} of the ELF's symbols (nm), {} when nm fails."""
    try:
        out = subprocess.run(["nm", elf], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return {}
    return {p[2]: int(p[0], 16) for p in (line.split() for line in out.splitlines())
            if len(p) == 3}


def addr2line(elf, addresses):
    """addresses -> ['function at file:line' or 'function', ...]; None when
    addr2line cannot run."""
    try:
        out = subprocess.run(["addr2line", "-f", "-p", "-e", elf] +
                             ["0x%x" % a for a in addresses],
                             capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    names = [re.sub(r" at \?\?:\?$|:\?$", "", line.strip()) for line in out.splitlines()]
    return [name.replace(" at %s/" % ROOT, " at ") for name in names]


def symbolised_frames(lines, config):
    """Report lines naming each frame of the run's stack traces."""
    traces = trace_addresses([text for _, text in lines])
    if not traces:
        return []
    elf = os.path.join(config.xmhf_bin, "runtime-x86-%s.elf" % config.subarch)
    if getattr(config, "boot_dir", None) or getattr(config, "module", None):
        return ["test3: stack trace: the image came from --boot-dir or --module; look the frames "
                "up (at ADDR-1) in its own runtime ELF"]
    if not os.path.isfile(elf):
        return ["test3: stack trace: %s is missing, the frames stay unnamed" % elf]
    symbols = elf_symbols(elf) if any(isinstance(a, tuple) for t in traces for _, a in t) else {}
    out = []
    for frames in traces:
        known = [(label, a if isinstance(a, int) else symbols[a[0]] + a[1])
                 for label, a in frames if isinstance(a, int) or a[0] in symbols]
        names = addr2line(elf, [a for _, a in known]) if known else []
        if names is None:
            return ["test3: stack trace: addr2line failed on %s" % elf]
        shown = os.path.relpath(elf)
        out.append("test3: stack trace (%s; a return address looked up at ADDR-1, the call):"
                   % (elf if shown.startswith("..") else shown))
        out += ["test3:   %-24s %s" % (label, name) for (label, _), name in zip(known, names)]
    return out
