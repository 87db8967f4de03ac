# gdb script for the amd64 debug build (./build.sh amd64 --debug): loads the
# symbols of all three stages at the addresses they run at. Run gdb from the
# tree root; `make gdb` does that and then connects to QEMU's stub
# (make debug starts QEMU with -s -S: localhost:1234, stopped at the reset vector).
#
# The stages are linked where they run, so no offsets are needed:
#   init-x86-amd64.elf     ELF32, at 1 MiB (QEMU's or GRUB's multiboot loader puts it there)
#   sl-x86-amd64.elf       ELF32, at the SL base (default 0x10000000)
#   runtime-x86-amd64.elf  ELF64, on the first page after the SL
# QEMU's x86_64 stub always reports the 64-bit register set, so gdb stays in
# i386:x86-64 throughout: in init and the SL (32-bit code) breakpoints and
# source lines work, but arguments, `bt` and `x/i` are read as 64-bit and are
# wrong there (docs/debugging.md: lhv-args32, or debug the i386 build).
set pagination off
set confirm off
set architecture i386:x86-64
file runtime-x86-amd64.elf
add-symbol-file sl-x86-amd64.elf
add-symbol-file init-x86-amd64.elf

# lhv-args32 [N]: the first N (default 2) 32-bit stack arguments at the first
# instruction of a cdecl function in init or the SL (gdb shows them wrong).
define lhv-args32
  if $argc == 0
    x/2wx $esp + 4
  else
    eval "x/%dwx $esp + 4", $arg0
  end
end
document lhv-args32
Print the first N (default 2) 32-bit stack arguments at the entry of an init or SL function.
