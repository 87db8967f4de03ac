/* Nested VMX: VMCS02's secondary controls, L1's VPIDs and its INVEPT and
 * INVVPID (SDM 3C 31.3), docs/l0.md "Nested VMX".
 *
 * Part of nested.c's translation unit (build/unity/lhv-l0.c includes the
 * files of lhv/l0 in name order): it uses nested.c's static helpers.
 *
 * L1's VPID (VPID12) runs L2 under an L0 VPID (VPID02, 1..VPID02_SLOTS:
 * never 0, the L0's own guest runs without VPID); a VPID02 given to
 * another VPID12 is invalidated first, so no VPID12 sees another's
 * translations. */
#include "l0/l0.h"

#ifdef __x86_64__

#define VPID02_SLOTS 8

struct vpid_map {
    u16 vpid12[VPID02_SLOTS]; /* by VPID02 - 1; 0: free */
    u32 next;
};

static struct vpid_map vpids[LHV_MAX_CPUS];

/* VPID12's VPID02 on this CPU; 0 when it has none and !make */
static u16 vpid02(u32 cpu, u16 vpid12, bool make)
{
    struct vpid_map *m = &vpids[cpu];
    for (u32 i = 0; i < VPID02_SLOTS; i++)
        if (m->vpid12[i] == vpid12)
            return (u16)(i + 1);
    if (!make)
        return 0;
    u32 i = m->next;
    m->next = (i + 1) % VPID02_SLOTS;
    if (m->vpid12[i] && invvpid(INVVPID_SINGLE, (u16)(i + 1), 0) != VMX_OK)
        fatal("nested VMX: INVVPID of VPID02 %u failed", i + 1);
    m->vpid12[i] = vpid12;
    return (u16)(i + 1);
}

u32 l0_nested_vmcs02_secondary(struct l0_vcpu *v, u8 *img, u32 proc)
{
    u32 proc2 = 0;
    if (proc & CPU_ACTIVATE_SECONDARY_CONTROLS)
        proc2 = (u32)field_get(img, ecm_slot(SECONDARY_VM_EXEC_CONTROL));
    vmw(SECONDARY_VM_EXEC_CONTROL, proc2 | CPU2_ENABLE_EPT);
    vmw(EPT_POINTER, (proc2 & CPU2_ENABLE_EPT)
                         ? l0_ept02_eptp(v->cpu, field_get(img, ecm_slot(EPT_POINTER)))
                         : l0_mem.ept.eptp);
    if (proc2 & CPU2_ENABLE_VPID)
        vmw(VIRTUAL_PROCESSOR_ID,
            vpid02(v->cpu, (u16)field_get(img, ecm_slot(VIRTUAL_PROCESSOR_ID)), true));
    return proc2;
}

void l0_ept02_exit_fields(u8 *img, u32 reason12, u64 qual12)
{
    u32 basic = reason12 & 0xffff;
    u32 proc = (u32)field_get(img, ecm_slot(CPU_BASED_VM_EXEC_CONTROL));
    u32 proc2 = (u32)field_get(img, ecm_slot(SECONDARY_VM_EXEC_CONTROL));
    field_set(img, ecm_slot(VM_EXIT_REASON), reason12);
    if (basic == EXIT_REASON_EPT_VIOLATION || basic == EXIT_REASON_EPT_MISCONFIG)
        field_set(img, ecm_slot(EXIT_QUALIFICATION), qual12);
    if ((proc & CPU_ACTIVATE_SECONDARY_CONTROLS) && (proc2 & CPU2_ENABLE_EPT))
        for (u32 i = 0; i < 4; i++) /* with EPT they are saved (27.3.4) */
            field_set(img, ecm_slot(GUEST_PDPTE0 + 2 * i), vmr(GUEST_PDPTE0 + 2 * i));
}

bool l0_nested_inv_offered(u32 reason)
{
    return ept_vpid_offer() & (reason == EXIT_REASON_INVEPT ? EPT_CAP_INVEPT : VPID_CAP_INVVPID);
}

/* An EPTP that VM entry with "enable EPT" accepts (26.2.1.1) */
static bool eptp_valid(u64 eptp)
{
    u64 caps = ept_vpid_offer(), type = eptp & 7;
    return ((type == EPTP_TYPE_UC && (caps & EPT_CAP_UC)) ||
            (type == EPTP_TYPE_WB && (caps & EPT_CAP_WB))) &&
           (eptp & 0x38) == EPTP_WALK_4 && !(eptp & 0xfc0) && !(eptp >> maxphyaddr());
}

/* INVEPT and INVVPID past the #UD and #GP(0) checks (31.3): the type in
 * the register, then the descriptor (its #GP, #SS or #PF), its checks */
void l0_nested_inv(struct l0_vcpu *v, bool ept, u32 info, u64 disp)
{
    u64 caps = ept_vpid_offer(), type = get_reg(v, info >> 28), d[2];
    if (ept)
        l0_ept02_counts[v->cpu].invept++;
    else
        l0_ept02_counts[v->cpu].invvpid++;
    if (!long64())
        type &= 0xffffffffull;
    bool supported = ept ? (type == INVEPT_SINGLE && (caps & EPT_CAP_INVEPT_SINGLE)) ||
                               (type == INVEPT_ALL && (caps & EPT_CAP_INVEPT_ALL))
                         : type <= INVVPID_SINGLE_GLOBALS && (caps & (VPID_CAP_INDIVIDUAL << type));
    if (!supported)
        return vmfail(v, VMX_ERROR_INVALID_INV_OPERAND);
    u64 la = operand_address(v, info, disp);
    if (long64() && !l0_canonical(la)) { /* #SS(0) through SS, else #GP(0) */
        if (((info >> 15) & 7) != 2)
            return inject(v, VEC_GP);
        vmw(VM_ENTRY_EXCEPTION_ERROR_CODE, 0);
        vmw(VM_ENTRY_INTR_INFO_FIELD,
            INTR_INFO(INTR_TYPE_HW_EXCEPTION, VEC_SS) | INTR_INFO_DELIVER_CODE);
        return;
    }
    if (!operand_copy(v, la, d, 16, false))
        return;
    if (ept) {
        if (type == INVEPT_SINGLE && !eptp_valid(d[0]))
            return vmfail(v, VMX_ERROR_INVALID_INV_OPERAND);
        l0_ept02_drop(v->cpu, type == INVEPT_SINGLE ? d[0] & EPT_ADDR_MASK : EPT12_NONE);
        return succeed();
    }
    if ((d[0] >> 16) || (type != INVVPID_ALL && !d[0]) ||
        (type == INVVPID_ADDRESS && !l0_canonical(d[1])))
        return vmfail(v, VMX_ERROR_INVALID_INV_OPERAND);
    u16 vpid = type == INVVPID_ALL ? 0 : vpid02(v->cpu, (u16)d[0], false);
    if ((type == INVVPID_ALL || vpid) && invvpid(type, vpid, d[1]) != VMX_OK)
        fatal("nested VMX: INVVPID type %llu of VPID02 %u failed", type, vpid);
    succeed();
}
#endif
