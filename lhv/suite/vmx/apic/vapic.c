/* The APIC-virtualization tests' pages and guest setup (vapic.h). */
#include "alloc.h"
#include "cpu.h"
#include "string.h"
#include "vapic.h"
#include "vmx/vmx.h"

static void *vapic_pages[LHV_MAX_CPUS], *access_pages[LHV_MAX_CPUS];

void *vapic_page(void)
{
    u32 i = this_cpu()->index;
    if (!vapic_pages[i])
        vapic_pages[i] = alloc_pages(1);
    return vapic_pages[i];
}

void *apic_access_page(void)
{
    u32 i = this_cpu()->index;
    if (!access_pages[i])
        access_pages[i] = alloc_pages(1);
    return access_pages[i];
}

struct vcpu *vapic_guest(struct cpu_outcome *o, u32 proc2)
{
    struct vcpu *v = test_guest(o);
    void *page = vapic_page();

    if (!v)
        return NULL;
    memset(page, 0, PAGE_SIZE);
    vmw_or(CPU_BASED_VM_EXEC_CONTROL, CPU_USE_TPR_SHADOW);
    vmw(VIRTUAL_APIC_PAGE_ADDR, (uintptr_t)page);
    vmw(TPR_THRESHOLD, 0);
    if (proc2) {
        vmw_or(CPU_BASED_VM_EXEC_CONTROL, CPU_ACTIVATE_SECONDARY_CONTROLS);
        vmw(SECONDARY_VM_EXEC_CONTROL, proc2);
    }
    if (proc2 & CPU2_VIRTUALIZE_APIC_ACCESSES)
        vmw(APIC_ACCESS_ADDR, (uintptr_t)apic_access_page());
    return v;
}

/* MOV r32 <-> (reg): the same two bytes on both subarchs (8B /r, 89 /r) */
u32 vapic_guest_read(volatile u32 *p, uintptr_t *after)
{
    u32 value;
#ifdef __x86_64__
    __asm__ volatile("lea 1f(%%rip), %1\n\tmovl (%2), %0\n1:"
                     : "=&a"(value), "=&r"(*after) : "d"(p) : "memory");
#else
    __asm__ volatile("mov $1f, %1\n\tmovl (%2), %0\n1:"
                     : "=&a"(value), "=&r"(*after) : "d"(p) : "memory");
#endif
    return value;
}

void vapic_guest_write(volatile u32 *p, u32 value, uintptr_t *after)
{
#ifdef __x86_64__
    __asm__ volatile("lea 1f(%%rip), %0\n\tmovl %1, (%2)\n1:"
                     : "=&r"(*after) : "a"(value), "d"(p) : "memory");
#else
    __asm__ volatile("mov $1f, %0\n\tmovl %1, (%2)\n1:"
                     : "=&r"(*after) : "a"(value), "d"(p) : "memory");
#endif
}
