# Host unit tests (cmocka) for the pure logic of the boot chain.
# Included by the top-level Makefile: `make unit` builds and runs them all.
# Each tests/unit/test_NAME.c is linked with the sources in UNIT_SRCS_NAME.

UNIT_CC ?= cc
UNIT_DIR := build/host
# The library's formatting functions share names with libc's: rename them in
# the host build so cmocka keeps using libc's own.
UNIT_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -iquote xmhf/include \
	-DLHV_HOST_TEST -iquote lhv -iquote tools -Dvsnprintf=lhv_vsnprintf -Dsnprintf=lhv_snprintf \
	-Dstrlcpy=lhv_strlcpy -fsanitize=address,undefined -fno-omit-frame-pointer
UNIT_LDLIBS := -lcmocka -fsanitize=address,undefined

UNIT_SRCS_options := xmhf/lib/options.c xmhf/lib/parse.c xmhf/lib/printf.c xmhf/lib/strlcpy.c
UNIT_SRCS_mmap := xmhf/lib/mmap.c
UNIT_SRCS_image := xmhf/lib/image.c xmhf/lib/crc32.c xmhf/lib/printf.c xmhf/lib/strlcpy.c
UNIT_SRCS_printf := xmhf/lib/printf.c xmhf/lib/parse.c xmhf/lib/strlcpy.c
UNIT_SRCS_pagetable := xmhf/lib/pagetable.c
UNIT_SRCS_glob := xmhf/lib/glob.c
UNIT_SRCS_vmx := lhv/vmx/feature_control.c
UNIT_SRCS_ept := lhv/vmx/mtrr.c lhv/vmx/ept.c xmhf/lib/printf.c xmhf/lib/parse.c xmhf/lib/strlcpy.c
UNIT_SRCS_bootinfo := xmhf/lib/bootinfo.c xmhf/lib/options.c xmhf/lib/parse.c xmhf/lib/mmap.c \
	xmhf/lib/printf.c xmhf/lib/strlcpy.c
UNIT_SRCS_bootinfo_mb2 := $(UNIT_SRCS_bootinfo)
UNIT_SRCS_acpi := xmhf/lib/acpi.c xmhf/lib/printf.c
UNIT_SRCS_emulator := xmhf/lib/emulator.c xmhf/lib/printf.c xmhf/lib/parse.c xmhf/lib/strlcpy.c
UNIT_SRCS_rtc := lhv/rtc.c
UNIT_SRCS_entry_checks := lhv/vmx/entry_checks.c
UNIT_SRCS_lz := xmhf/lib/lz.c tools/lz_pack.c

UNIT_NAMES := options mmap image printf pagetable glob bootinfo bootinfo_mb2 acpi vmx ept emulator \
	rtc entry_checks lz
UNIT_BINS := $(UNIT_NAMES:%=$(UNIT_DIR)/test_%)

$(UNIT_DIR)/test_%: tests/unit/test_%.c $$(UNIT_SRCS_$$*) $(wildcard xmhf/include/*.h tools/*.h) \
		tests/unit/unit.mk
	@mkdir -p $(@D)
	$(Q)$(UNIT_CC) $(UNIT_CFLAGS) -o $@ $< $(UNIT_SRCS_$*) $(UNIT_LDLIBS)

# The entry-check model is also read through its headers
$(UNIT_DIR)/test_entry_checks: lhv/vmx/entry_checks.h lhv/vmx/vmcs.h xmhf/include/x86.h

.PHONY: unit
unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do $$t; done
