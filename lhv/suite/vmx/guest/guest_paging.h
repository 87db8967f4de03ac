/* What the guest-paging tests (lhv/suite/vmx/guest/) share. */
#ifndef LHV_SUITE_VMX_GUEST_PAGING_H
#define LHV_SUITE_VMX_GUEST_PAGING_H

#include "vmx/ept.h"

/* This CPU's identity EPT (built on first use, kept for later runs) */
struct ept *guest_identity_ept(void);

/* Makes the current VMCS's guest a 32-bit one where the host is amd64: not
 * an IA-32e mode guest, EFER.LME/LMA clear, CS 32-bit (D/B, not L) */
void guest_make_32bit(void);

#endif
