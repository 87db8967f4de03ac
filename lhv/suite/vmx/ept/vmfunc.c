/* vmx/vmfunc-eptp-switch: VM function 0, EPTP switching (SDM 3C 26.5.6.3,
 * 25.6.14, 25.6.19): VMFUNC with EAX 0 and ECX n loads entry n of the EPTP
 * list into the EPT pointer and n into the EPTP-index field without a VM
 * exit; an index of 512 or more, an invalid EPTP in the list or a function
 * not enabled in the VM-function controls exits with reason 59 and changes
 * nothing. The window page is host test page 0 in one map, 1 in the other. */
#include "cpu.h"
#include "string.h"
#include "ept_suite.h"

#define VF_HC_MARK 0x0f49 /* LHV's range (docs/design.md §3): the guest reports */
#define VF_GPA (EPT_WINDOW + 0x7f0)

struct vf_run {
    u32 seen[4];
    u32 exits, marks, bad_len;
    u64 eptp_at_exit, eptp_at_mark, index_at_mark;
};

static void vf_vmfunc(u32 fn, u32 index)
{
    __asm__ volatile(".byte 0x0f, 0x01, 0xd4" : : "a"(fn), "c"(index) : "memory");
}

static enum exit_action vf_hook(struct vcpu *v, u32 reason)
{
    struct vf_run *r = v->test_data;
    if (reason == EXIT_REASON_VMFUNC) {
        r->exits++;
        r->eptp_at_exit = vmr(EPT_POINTER);
        r->bad_len += vmr(VM_EXIT_INSTRUCTION_LEN) != 3;
    } else if (reason == EXIT_REASON_VMCALL && (u32)REG_AX(v) == VF_HC_MARK) {
        r->marks++;
        r->eptp_at_mark = vmr(EPT_POINTER);
        r->index_at_mark = vmr(EPTP_INDEX);
    } else {
        return EXIT_DEFAULT;
    }
    vcpu_skip_instruction();
    return EXIT_RESUME;
}

static void vf_guest(void *arg)
{
    struct vf_run *r = arg;
    volatile u32 *word = (volatile u32 *)(uintptr_t)VF_GPA;
    r->seen[0] = *word;
    vf_vmfunc(0, 1);
    r->seen[1] = *word;
    guest_hypercall(VF_HC_MARK, 0, 0, 0);
    vf_vmfunc(0, 2);   /* a list entry that is no valid EPTP */
    vf_vmfunc(0, 512); /* beyond the list */
    vf_vmfunc(1, 0);   /* a function not enabled */
    r->seen[2] = *word;
    vf_vmfunc(0, 0);
    r->seen[3] = *word;
}

static void check_vmfunc(struct cpu_outcome *o, void *arg)
{
    struct ept_cpu *c = ept_cpu(o);
    struct vf_run r;
    (void)arg;

    if (!c || !require_control(o, CTL_PROC2, CPU2_ENABLE_VMFUNC, "enable VM functions"))
        return;
    if (!(vmx_caps.vmfunc & VMFUNC_EPTP_SWITCHING)) {
        outcome_skip(o, "IA32_VMX_VMFUNC bit 0 (EPTP switching) clear");
        return;
    }
    memset(&r, 0, sizeof(r));
    u64 *list = (u64 *)c->page[3];
    memset(list, 0, PAGE_SIZE);
    list[0] = c->map.eptp;
    list[1] = c->alt.eptp;
    ept_map_4k(&c->map, VF_GPA, (uintptr_t)c->page[0], EPT_RWX, MTRR_TYPE_WB);
    ept_map_4k(&c->alt, VF_GPA, (uintptr_t)c->page[1], EPT_RWX, MTRR_TYPE_WB);
    *(u32 *)(c->page[0] + (VF_GPA & 0xfff)) = 0xaaaa0000 + this_cpu()->index;
    *(u32 *)(c->page[1] + (VF_GPA & 0xfff)) = 0xbbbb0000 + this_cpu()->index;
    struct vcpu *v = ept_cpu_guest(o, &c->map, 0, CPU2_ENABLE_VMFUNC, vf_hook, &r);
    if (v) {
        vmw(VM_FUNCTION_CONTROL, VMFUNC_EPTP_SWITCHING);
        vmw(EPTP_LIST_ADDRESS, (uintptr_t)list);
        vmw(EPTP_INDEX, 0);
    }
    if (v && ept_cpu_flush(o, &c->map) && ept_cpu_flush(o, &c->alt) && test_guest_run(o, v, vf_guest, &r)) {
        u64 a = 0xaaaa0000 + this_cpu()->index, b = 0xbbbb0000 + this_cpu()->index;
        const u64 got[] = {r.seen[0], r.seen[1], r.marks, r.eptp_at_mark, r.index_at_mark,
                           r.exits, r.bad_len, r.eptp_at_exit, r.seen[2], r.seen[3],
                           vmr(EPT_POINTER), vmr(EPTP_INDEX)};
        const u64 want[] = {a, b, 1, c->alt.eptp, 1, 3, 0, c->alt.eptp, b, a, c->map.eptp, 0};
        ept_expect(o, "first read;read after VMFUNC(0, 1);marks;EPT pointer after it;"
                   "EPTP index after it;VMFUNC exits;exits with a length other than 3;"
                   "EPT pointer at those exits;read after them;read after VMFUNC(0, 0);"
                   "EPT pointer at the end;EPTP index at the end", got, want, ARRAY_SIZE(got));
    }
    ept_restore_identity_2m(&c->map, EPT_WINDOW);
    ept_restore_identity_2m(&c->alt, EPT_WINDOW);
    ept_flush(&c->map);
    ept_flush(&c->alt);
}

VMX_TEST_ALL_CPUS("vmx/vmfunc-eptp-switch", check_vmfunc);
