/* Unit tests of VMX facts LHV relies on: the width bits of every VMCS field
 * encoding LHV names (SDM 3D appendix B: bits 14:13 = 0 16-bit, 1 64-bit,
 * 2 32-bit, 3 natural width), and the IA32_FEATURE_CONTROL decision. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "vmx/vmx.h"

static unsigned width(unsigned field) { return (field >> 13) & 3; }

static void test_field_widths(void **state)
{
    (void)state;
    const unsigned w16[] = {VIRTUAL_PROCESSOR_ID, GUEST_ES_SELECTOR, GUEST_TR_SELECTOR,
                            HOST_ES_SELECTOR, HOST_TR_SELECTOR};
    const unsigned w64[] = {IO_BITMAP_A, MSR_BITMAP, EPT_POINTER, GUEST_PHYSICAL_ADDRESS,
                            VMCS_LINK_POINTER, GUEST_IA32_EFER, GUEST_PDPTE3, HOST_IA32_EFER};
    const unsigned w32[] = {PIN_BASED_VM_EXEC_CONTROL, SECONDARY_VM_EXEC_CONTROL,
                            VM_INSTRUCTION_ERROR, VM_EXIT_REASON, GUEST_ES_LIMIT,
                            GUEST_TR_AR_BYTES, VMX_PREEMPTION_TIMER_VALUE, HOST_IA32_SYSENTER_CS};
    const unsigned wn[] = {CR0_GUEST_HOST_MASK, EXIT_QUALIFICATION, GUEST_CR0, GUEST_RIP,
                           GUEST_SYSENTER_EIP, HOST_CR0, HOST_RSP, HOST_RIP};
    for (size_t i = 0; i < sizeof(w16) / sizeof(w16[0]); i++)
        assert_int_equal(width(w16[i]), 0);
    for (size_t i = 0; i < sizeof(w64) / sizeof(w64[0]); i++)
        assert_int_equal(width(w64[i]), 1);
    for (size_t i = 0; i < sizeof(w32) / sizeof(w32[0]); i++)
        assert_int_equal(width(w32[i]), 2);
    for (size_t i = 0; i < sizeof(wn) / sizeof(wn[0]); i++)
        assert_int_equal(width(wn[i]), 3);
}

/* Bits 11:10 are the type: 0 control, 1 read-only (exit information),
 * 2 guest state, 3 host state. */
static void test_field_types(void **state)
{
    (void)state;
    assert_int_equal((VM_EXIT_REASON >> 10) & 3, 1);
    assert_int_equal((EXIT_QUALIFICATION >> 10) & 3, 1);
    assert_int_equal((GUEST_PHYSICAL_ADDRESS >> 10) & 3, 1);
    assert_int_equal((GUEST_RIP >> 10) & 3, 2);
    assert_int_equal((HOST_RIP >> 10) & 3, 3);
    assert_int_equal((PIN_BASED_VM_EXEC_CONTROL >> 10) & 3, 0);
}

/* The guest segment fields are spaced alike, which guest.c relies on. */
static void test_segment_layout(void **state)
{
    (void)state;
    assert_int_equal(GUEST_TR_SELECTOR - GUEST_ES_SELECTOR, GUEST_TR_LIMIT - GUEST_ES_LIMIT);
    assert_int_equal(GUEST_TR_SELECTOR - GUEST_ES_SELECTOR, GUEST_TR_AR_BYTES - GUEST_ES_AR_BYTES);
    assert_int_equal(GUEST_TR_SELECTOR - GUEST_ES_SELECTOR, GUEST_TR_BASE - GUEST_ES_BASE);
    assert_int_equal(GUEST_GS_SELECTOR - GUEST_ES_SELECTOR, GUEST_GS_BASE - GUEST_ES_BASE);
}

static void test_feature_control(void **state)
{
    (void)state;
    assert_int_equal(feature_control_decide(0), FC_ENABLE_AND_LOCK);
    assert_int_equal(feature_control_decide(FEATURE_CONTROL_VMXON_OUTSIDE_SMX), FC_ENABLE_AND_LOCK);
    assert_int_equal(feature_control_decide(FEATURE_CONTROL_LOCKED), FC_REFUSE);
    assert_int_equal(feature_control_decide(FEATURE_CONTROL_LOCKED | (1u << 1)), FC_REFUSE);
    assert_int_equal(feature_control_decide(FEATURE_CONTROL_LOCKED |
                                            FEATURE_CONTROL_VMXON_OUTSIDE_SMX), FC_USE);
    assert_int_equal(feature_control_decide(0x5), FC_USE); /* Bochs after its BIOS */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_field_widths),
        cmocka_unit_test(test_field_types),
        cmocka_unit_test(test_segment_layout),
        cmocka_unit_test(test_feature_control),
    };
    return cmocka_run_group_tests_name("vmx", tests, NULL, NULL);
}
