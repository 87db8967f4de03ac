#!/usr/bin/env python3
"""Writes the fuzzers' seed inputs to OUTDIR/NAME/ (make fuzz calls it).

options: a few command lines. bootinfo: memory from address 0 holding a
multiboot info as GRUB and QEMU give it (u32 at 0: its address; u32 at 4 and
8: the target span to check), and a multiboot2 block as GRUB EFI gives it (its
address | 1 at 0). image: small valid images of both subarchs and
a gzip header. acpi: the captured tables of tests/unit/data/acpi-*.acpi moved
down into a few KiB of memory (the BDA names an EBDA at 0x500 that holds the
RSDP, the tables follow), pointers and checksums fixed."""
import argparse
import glob
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, '..', 'unit', 'data')


def write(outdir, name, seed, data):
    d = os.path.join(outdir, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, seed), 'wb') as f:
        f.write(data)


# --- options ---------------------------------------------------------------

CMDLINES = [
    b'serial=115200,8n1,0x3f8 boot_drive=0x80',
    b'/boot/init-x86-amd64.bin serial=9600,7e2,0x2f8 lhv.tests=vmx/*,smp/ipi lhv.cpus=4',
    b'lhv.end=poweroff lhv.e9=1 lhv.iterations=1000000000 lhv.soak=1000000 quiet',
    b'lhv.end=halt\tlhv.end=reboot lhv.e9=0 lhv.cpus=0x10 lhv.bogus=1',
    b'serial=50,5o1,65535 boot_drive lhv.tests=a?c,*.d',
]

# --- bootinfo --------------------------------------------------------------

MBI = 0x100


def mbi_memory(loader, cmdline, mmap, modules, mem_lower_upper=None):
    mem = bytearray(0x1000)
    struct.pack_into('<III', mem, 0, MBI, 0x400000, 0x200000)
    flags = 0
    f = {}
    if loader is not None:
        mem[0x200:0x200 + len(loader) + 1] = loader + b'\0'
        flags |= 1 << 9
        f[64] = 0x200
    if cmdline is not None:
        mem[0x300:0x300 + len(cmdline) + 1] = cmdline + b'\0'
        flags |= 1 << 2
        f[16] = 0x300
    if mem_lower_upper:
        flags |= 1
        f[4], f[8] = mem_lower_upper
    if mmap:
        raw = b''.join(struct.pack('<IQQI', 20, b, n, t) for b, n, t in mmap)
        mem[0x600:0x600 + len(raw)] = raw
        flags |= 1 << 6
        f[44], f[48] = len(raw), 0x600
    if modules:
        flags |= 1 << 3
        f[20], f[24] = len(modules), 0x400
        for i, (start, end, s) in enumerate(modules):
            mem[0x800 + 0x40 * i:0x800 + 0x40 * i + len(s) + 1] = s + b'\0'
            struct.pack_into('<IIII', mem, 0x400 + 16 * i, start, end, 0x800 + 0x40 * i, 0)
    f[0] = flags | 1 << 1
    f[12] = 0x8001ffff
    for off, v in f.items():
        struct.pack_into('<I', mem, MBI + off, v)
    return bytes(mem)


QEMU_MAP = [(0, 0x9fc00, 1), (0x9fc00, 0x400, 2), (0xf0000, 0x10000, 2),
            (0x100000, 0x1fee0000, 1), (0x1ffe0000, 0x20000, 2), (0xfffc0000, 0x40000, 4)]


def mb2_memory(tags):
    """Memory holding a multiboot2 block at MBI made of (type, data) tags."""
    mem = bytearray(0x1000)
    struct.pack_into('<III', mem, 0, MBI | 1, 0x400000, 0x200000)
    pos = MBI + 8
    for t, data in tags + [(0, b'')]:
        struct.pack_into('<II', mem, pos, t, 8 + len(data))
        mem[pos + 8:pos + 8 + len(data)] = data
        pos += (8 + len(data) + 7) & ~7
    struct.pack_into('<II', mem, MBI, pos - MBI, 0)
    return bytes(mem)


def mb2_grub_efi():
    rsdp = b'RSD PTR ' + bytes(28)
    mmap = struct.pack('<II', 24, 0) + b''.join(
        struct.pack('<QQII', b, n, t, 0) for b, n, t in QEMU_MAP + [(0x100000000, 0x1000, 7)])
    return mb2_memory([
        (1, b'serial=115200,8n1,0x3f8\0'),
        (2, b'GRUB 2.06-13+deb12u2\0'),
        (3, struct.pack('<II', 0xc00, 0xe00) + b'/boot/hypervisor-x86-amd64.bin.gz\0'),
        (6, mmap),
        (14, rsdp[:20]),
        (15, rsdp),
    ])


def bootinfo_seeds():
    yield 'grub', mbi_memory(b'GRUB 2.06-13+deb12u1', b'serial=115200,8n1,0x3f8 boot_drive=0x80',
                             QEMU_MAP, [(0xc00, 0xe00, b'/boot/hypervisor-x86-amd64.bin.gz')])
    yield 'qemu', mbi_memory(b'qemu', b'/init-x86-amd64.bin lhv.cpus=2',
                             QEMU_MAP[:4], [(0xc00, 0xe00, b'hypervisor-x86-amd64.bin'),
                                            (0xe00, 0xf00, b'extra')])
    yield 'memonly', mbi_memory(None, None, None, [(0xc00, 0xc00, b'')], (639, 523136))
    yield 'grub-efi', mb2_grub_efi()


# --- image -----------------------------------------------------------------

def image(subarch):
    """A valid version-2 image: header, 256 bytes of SL, and a packed runtime
    of 0x1000 bytes (one sequence: 16 literals, then a match from 16 back
    for the rest, then the empty last token)."""
    sl_area_min = 0x4000 + 6 * 0x1000
    sl = bytes(range(256))
    lits = bytes(255 - i for i in range(16))
    rest = 0x1000 - 16 - 4 - 15  # the match length beyond its token's field
    packed = bytes([0xff, 1]) + lits + bytes([16, 0]) + b"\xff" * (rest // 255) + \
        bytes([rest % 255, 0])
    body = bytearray(0x100) + sl + packed
    runtime = lits * 256
    hdr = struct.pack('<IHHIIQ' + 'I' * 16, 0x4956484c, 2, 88, subarch, 0, 0x10000000,
                      len(body), 0x100, 0x100, 0x200, len(packed), 0x1000, 0x1000, 0x2000,
                      0x1000, 0x3000, sl_area_min, 0x100, 0x1000, zlib.crc32(runtime), 0, 0)
    body[0:88] = hdr
    struct.pack_into('<I', body, 80, zlib.crc32(bytes(body)))
    return bytes(body)


# --- acpi ------------------------------------------------------------------

def load_capture(path):
    with open(path, 'rb') as f:
        raw = f.read()
    assert raw[:8] == b'LHVACPI1'
    size, = struct.unpack_from('<Q', raw, 8)
    mem = bytearray(size)
    off = 16
    while off < len(raw):
        addr, n = struct.unpack_from('<QQ', raw, off)
        mem[addr:addr + n] = raw[off + 16:off + 16 + n]
        off += 16 + n
    return mem


def find_rsdp(mem):
    for a in range(0xe0000, 0x100000, 16):
        if mem[a:a + 8] == b'RSD PTR ':
            return a
    ebda = struct.unpack_from('<H', mem, 0x40e)[0] << 4
    for a in range(ebda, ebda + 1024, 16):
        if mem[a:a + 8] == b'RSD PTR ':
            return a
    raise SystemExit('mkseeds.py: no RSDP in a capture')


def checksum(buf, start, length, at):
    buf[at] = 0
    buf[at] = (-sum(buf[start:start + length])) & 0xff


def acpi_seed(path):
    old = load_capture(path)
    rsdp = find_rsdp(old)
    rev = old[rsdp + 15]
    tables = {}  # old address -> bytes

    def table(addr):
        if addr and addr not in tables:
            n = struct.unpack_from('<I', old, addr + 4)[0]
            tables[addr] = bytearray(old[addr:addr + n])
        return addr

    roots = [table(struct.unpack_from('<I', old, rsdp + 16)[0])]
    if rev >= 2:
        roots.append(table(struct.unpack_from('<Q', old, rsdp + 24)[0]))
    for root, esize in zip(roots, (4, 8)):
        if not root:
            continue
        t = tables[root]
        for off in range(36, len(t) - esize + 1, esize):
            a = int.from_bytes(t[off:off + esize], 'little')
            table(a)
    for a in list(tables):
        t = tables[a]
        if t[:4] == b'FACP':
            for off, w in ((36, 4), (40, 4), (132, 8), (140, 8)):
                if off + w <= len(t):
                    table(int.from_bytes(t[off:off + w], 'little'))
    new = {}
    at = 0x540
    for a in sorted(tables):
        new[a] = at
        at = (at + len(tables[a]) + 15) & ~15

    def move(t, off, w):
        a = int.from_bytes(t[off:off + w], 'little')
        if a:
            t[off:off + w] = new[a].to_bytes(w, 'little')

    mem = bytearray(at)
    struct.pack_into('<H', mem, 0x40e, 0x50)
    rlen = 36 if rev >= 2 else 20
    r = bytearray(old[rsdp:rsdp + rlen])
    move(r, 16, 4)
    if rev >= 2:
        move(r, 24, 8)
        checksum(r, 0, 36, 32)
    checksum(r, 0, 20, 8)
    mem[0x500:0x500 + rlen] = r
    for a, t in tables.items():
        if t[:4] in (b'RSDT', b'XSDT'):
            esize = 4 if t[:4] == b'RSDT' else 8
            for off in range(36, len(t) - esize + 1, esize):
                move(t, off, esize)
        elif t[:4] == b'FACP':
            for off, w in ((36, 4), (40, 4), (132, 8), (140, 8)):
                if off + w <= len(t):
                    move(t, off, w)
        if t[:4] != b'FACS':  # the FACS has no checksum field at 9
            checksum(t, 0, len(t), 9)
        mem[new[a]:new[a] + len(t)] = t
    return bytes(mem)


def main():
    parser = argparse.ArgumentParser(description="Write the fuzzers' seed inputs to "
                                     "OUTDIR/NAME/ (make fuzz calls it).")
    parser.add_argument("outdir", metavar="OUTDIR")
    outdir = parser.parse_args().outdir
    for i, c in enumerate(CMDLINES):
        write(outdir, 'options', 'cmdline%d' % i, c)
    for name, data in bootinfo_seeds():
        write(outdir, 'bootinfo', name, data)
    write(outdir, 'image', 'i386', image(1))
    write(outdir, 'image', 'amd64', image(2))
    write(outdir, 'image', 'gzip', b'\x1f\x8b\x08\x00' + bytes(16))
    for path in sorted(glob.glob(os.path.join(DATA, 'acpi-*.acpi'))):
        name = os.path.basename(path)[len('acpi-'):-len('.acpi')]
        write(outdir, 'acpi', name, acpi_seed(path))


if __name__ == '__main__':
    main()
