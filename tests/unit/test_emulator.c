/* Unit tests of the L0 naming (emulator_classify in xmhf/lib/emulator.c):
 * CPUID hypervisor-leaf signatures and the port 0xe9 read-back -> name. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "emulator.h"
#include "options.h"

/* Up to 2 signatures, each given as a C string padded with NULs to 12. */
static enum emulator classify(u32 n, const char *a, const char *b, bool e9)
{
    char sigs[2][12];
    memset(sigs, 0, sizeof sigs);
    if (a)
        memcpy(sigs[0], a, strnlen(a, 12));
    if (b)
        memcpy(sigs[1], b, strnlen(b, 12));
    return emulator_classify((const char (*)[12])sigs, n, e9);
}

static void test_no_hypervisor_bit(void **state)
{
    (void)state;
    assert_int_equal(classify(0, NULL, NULL, false), EMU_NONE);
    assert_int_equal(classify(0, NULL, NULL, true), EMU_BOCHS);
    assert_string_equal(emulator_name(EMU_NONE), "none (bare metal)");
    assert_string_equal(emulator_name(EMU_BOCHS), "Bochs");
}

/* lhv.bochs= names the version; other L0s ignore it */
static void test_bochs_version(void **state)
{
    (void)state;
    emulator_set_bochs_version(LHV_BOCHS_3_0);
    assert_string_equal(emulator_name(EMU_BOCHS), "Bochs 3.0");
    assert_string_equal(emulator_name(EMU_QEMU_TCG), "QEMU TCG");
    emulator_set_bochs_version(LHV_BOCHS_2_7);
    assert_string_equal(emulator_name(EMU_BOCHS), "Bochs 2.7");
    emulator_set_bochs_version(LHV_BOCHS_UNKNOWN);
    assert_string_equal(emulator_name(EMU_BOCHS), "Bochs");
}

static void test_known_signatures(void **state)
{
    (void)state;
    assert_int_equal(classify(1, "TCGTCGTCGTCG", NULL, false), EMU_QEMU_TCG);
    assert_int_equal(classify(1, "KVMKVMKVM", NULL, false), EMU_KVM);
    assert_int_equal(classify(1, "XenVMMXenVMM", NULL, false), EMU_XEN);
    assert_int_equal(classify(1, "Microsoft Hv", NULL, false), EMU_HYPERV);
    assert_int_equal(classify(1, "VMwareVMware", NULL, false), EMU_VMWARE);
    /* the e9 read-back only counts without the hypervisor bit */
    assert_int_equal(classify(1, "KVMKVMKVM", NULL, true), EMU_KVM);
    assert_string_equal(emulator_name(EMU_XEN), "Xen");
    assert_string_equal(emulator_name(EMU_HYPERV), "Hyper-V");
    assert_string_equal(emulator_name(EMU_VMWARE), "VMware");
}

static void test_hyperv_interface_of_another(void **state)
{
    (void)state;
    assert_int_equal(classify(2, "Microsoft Hv", "KVMKVMKVM", false), EMU_KVM);
    assert_int_equal(classify(2, "Microsoft Hv", "XenVMMXenVMM", false), EMU_XEN);
    assert_int_equal(classify(2, "Microsoft Hv", "Microsoft Hv", false), EMU_HYPERV);
    /* only a Hyper-V first leaf gives way */
    assert_int_equal(classify(2, "XenVMMXenVMM", "KVMKVMKVM", false), EMU_XEN);
}

static void test_other_hypervisor_is_named(void **state)
{
    (void)state;
    assert_int_equal(classify(1, "bhyve bhyve ", NULL, false), EMU_OTHER_HYPERVISOR);
    assert_string_equal(emulator_name(EMU_OTHER_HYPERVISOR), "hypervisor \"bhyve bhyve\"");
    assert_int_equal(classify(1, "VBox\"Box\x01", NULL, false), EMU_OTHER_HYPERVISOR);
    assert_string_equal(emulator_name(EMU_OTHER_HYPERVISOR), "hypervisor \"VBox?Box?\"");
    /* KVM's name is 9 bytes then NULs: a longer one is not KVM */
    assert_int_equal(classify(1, "KVMKVMKVMKVM", NULL, false), EMU_OTHER_HYPERVISOR);
}

/* LHV's L0 says what it runs on (leaf 0x40000001): the name carries it,
 * the setter keeps only what an enum emulator and a version can be. */
static void test_lhv_names_what_it_runs_on(void **state)
{
    u32 v = 7;
    (void)state;
    assert_int_equal(emulator_below(&v), EMU_NONE);
    assert_int_equal(v, 0);
    assert_string_equal(emulator_name(EMU_LHV), "LHV");
    emulator_set_below(EMU_BOCHS, LHV_BOCHS_2_7 | 0x100);
    assert_int_equal(emulator_below(&v), EMU_BOCHS);
    assert_int_equal(v, LHV_BOCHS_2_7);
    assert_string_equal(emulator_name(EMU_LHV), "LHV on Bochs 2.7");
    emulator_set_below(EMU_KVM, 0);
    assert_string_equal(emulator_name(EMU_LHV), "LHV on KVM");
    emulator_set_below(EMU_LHV, 0);
    assert_string_equal(emulator_name(EMU_LHV), "LHV on LHV");
    emulator_set_below((enum emulator)99, 0);
    assert_int_equal(emulator_below(&v), EMU_OTHER_HYPERVISOR);
    emulator_set_below(EMU_NONE, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_hypervisor_bit),
        cmocka_unit_test(test_bochs_version),
        cmocka_unit_test(test_known_signatures),
        cmocka_unit_test(test_hyperv_interface_of_another),
        cmocka_unit_test(test_other_hypervisor_is_named),
        cmocka_unit_test(test_lhv_names_what_it_runs_on),
    };
    return cmocka_run_group_tests_name("emulator", tests, NULL, NULL);
}
