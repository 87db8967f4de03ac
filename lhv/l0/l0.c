/* LHV as L0: the order of things (docs/l0.md). The platform is up on
 * every CPU and each is in VMX operation (lhv_main). Here: check what the
 * L0 needs of VMX, build the EPT, load the guest, quiet the L0's own
 * interrupt sources, park every AP in VMX non-root in the wait-for-SIPI
 * state, then enter the guest on the BSP at its multiboot entry. */
#include "l0/l0.h"

#ifdef __x86_64__
#include "console.h"
#include "cpu.h"
#include "end.h"
#include "ioapic.h"
#include "lapic.h"
#include "platform.h"
#include "serial.h"
#include "smp.h"
#include "string.h"
#include "pit.h"
#include "x86.h"

#define AP_PARK_TIMEOUT 100000000ull /* TSC ticks */
#define L0_INJECT_CODE 0x7000u       /* lhv.inject=l0-hidden-access: low guest RAM */

static void quiet_cpu(void *arg)
{
    u32 *not_on = arg;
    lapic_timer_stop();
    if (!vmx_cpu_on())
        __atomic_add_fetch(not_on, 1, __ATOMIC_SEQ_CST);
}

/* An AP for good: its guest waits for the SIPI the guest's BSP sends. */
static void ap_enter(void *arg)
{
    (void)arg;
    struct l0_vcpu *v = &l0_vcpus[this_cpu()->index];
    lapic_handover();
    l0_vcpu_init(v);
    l0_vcpu_init_state(v);
    l0_vcpu_run(v);
}

void l0_run(const struct lhv_boot_params *p, const struct lhv_options *opts)
{
    const char *why = l0_vcpu_unsupported();
    if (why)
        fatal("lhv.l0=1: the L0 needs VMX with EPT and unrestricted guest: %s; run it in Bochs "
              "with a VMX CPU model (test3.py --emulator bochs --bochs-cpu tigerlake), under KVM "
              "with nested VMX, or on hardware with VT-x (QEMU TCG has no VMX)", why);
    u32 not_on = 0;
    l0_nested = opts->l0_nested;
    l0_nested_fc_unlocked = opts->l0_fc_unlocked;
    __asm__ volatile("cli");
    on_all_cpus(quiet_cpu, &not_on);
    if (not_on)
        fatal("lhv.l0=1: %u CPU(s) could not enter VMX operation (the vmx: lines say why); "
              "boot with lhv.cpus= fewer or fix the firmware's IA32_FEATURE_CONTROL", not_on);
    why = l0_memory_plan(p);
    if (why)
        fatal("lhv.l0=1: the guest does not fit: %s; give the machine more RAM", why);
    l0_memory_build_ept();
    l0_vcpu_setup_bitmaps(platform.pm1a_cnt);
    l0_loader(p, true);
    u64 size = l0_mem.own_end - l0_mem.own_base;
    printf("l0: footprint 0x%llx-0x%llx (%llu MiB: image, SL area, allocator pool); the guest "
           "sees that range backed by 0x%llx-0x%llx, which is hidden from it\n",
           l0_mem.own_base, l0_mem.own_end - 1, size >> 20, l0_mem.backing,
           l0_mem.backing + size - 1);
    printf("l0: guest kernel (%s) at 0x%llx-0x%llx, entry 0x%x, multiboot info at 0x%x, "
           "%u module(s); EPT: %u tables, %u 2 MiB and %u 4 KiB pages\n",
           l0_image.kind, l0_image.load_lo, l0_image.load_hi - 1, l0_image.entry, l0_image.mbi,
           p->module_count - 2, l0_mem.ept.tables, l0_mem.ept.leaves_2m, l0_mem.ept.leaves_4k);

    /* The guest owns the PIC, the I/O APIC, the UART's interrupt and the
     * screen from here on */
    serial_irq_stop();
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
    for (u32 irq = 0; irq < 16; irq++)
        ioapic_mask(irq);
    console_set_mirror(NULL);

    for (u32 i = 1; i < smp_cpu_count(); i++) {
        if (!cpus[i].online)
            continue;
        on_cpu_detached(i, ap_enter, NULL);
        u64 t0 = rdtsc();
        while (!l0_vcpus[i].waiting && rdtsc() - t0 < AP_PARK_TIMEOUT)
            cpu_relax();
        if (!l0_vcpus[i].waiting)
            fatal("lhv.l0=1: CPU %u did not enter its guest's wait-for-SIPI state", i);
    }
    /* Each AP's "taken" IPI back to CPU 0 waits in its LAPIC (interrupts
     * are off here): take it now, or the guest would get it */
    __asm__ volatile("sti");
    udelay(1000);
    __asm__ volatile("cli");
    printf("l0: %u AP(s) wait for their SIPI in VMX non-root; the guest starts on CPU 0\n",
           smp_online_count() - 1);
    struct l0_vcpu *v = &l0_vcpus[0];
    lapic_handover();
    l0_vcpu_init(v);
    if (l0_nested) {
        l0_nested_setup();
        printf("l0: lhv.l0.nested=1: VMX offered to the guest (VMCS revision 0x%x, VMXON, "
               "VMXOFF, VMCLEAR, VMPTRLD, VMPTRST, VMREAD, VMWRITE emulated)\n",
               L0_VMCS_REVISION);
    }
    l0_vcpu_multiboot_state(v, l0_image.entry, l0_image.mbi);
    if (opts->inject == LHV_INJECT_L0_HIDDEN_ACCESS) {
        /* mov 0x1000(hidden), %eax; invd: the read must end the run */
        static u8 code[7] = {0xa1, 0, 0, 0, 0, 0x0f, 0x08};
        u32 hidden = (u32)l0_mem.backing + 0x1000;
        memcpy(code + 1, &hidden, 4);
        memcpy((void *)(uintptr_t)L0_INJECT_CODE, code, sizeof(code));
        vmw(GUEST_RIP, L0_INJECT_CODE);
        printf("l0: lhv.inject=l0-hidden-access: the guest starts at 0x%x with a read of "
               "0x%x, in the range hidden from it\n", L0_INJECT_CODE, hidden);
    }
    v->started = true;
    l0_vcpu_run(v);
    fatal("lhv.l0=1: the guest's run on CPU 0 returned");
}
#else
#include "x86.h"

void l0_run(const struct lhv_boot_params *p, const struct lhv_options *opts)
{
    (void)opts;
    l0_check(p);
    halt_forever();
}
#endif
