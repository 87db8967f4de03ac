# LHV: plain GNU Make, both subarchs in parallel, incremental, -Werror.
#
#   make                 build amd64 and i386 (images in the tree root)
#   make run             boot amd64 in QEMU through GRUB (2 CPUs), serial log on the terminal
#   make run-bochs       the same in Bochs (VMX, x2APIC)
#   make test            host unit tests and the QEMU boot matrix (both subarchs)
#   make test-full       make test plus the long matrix (every Bochs CPU model, soaks)
#   make mutate          mutation testing: does a test catch each bug of tests/mutations.ini
#   make unit            host unit tests only
#   make iso             GRUB ISO images (lhv-amd64.iso, lhv-i386.iso)
#   make usb             lhv-usb-amd64.img for a USB stick (prints the dd command)
#   make debug           amd64 debug build in QEMU, waiting for gdb on :1234
#   make gdb             gdb with every stage's symbols, attached to make debug's QEMU
#   make compile_commands.json   compilation database for editors (clangd)
#   make compare-l0      docs/l0-compare.md: the suite on Bochs 2.7, 3.0 and LHV-L0, compared
#   make clean
#   make distclean       make clean, and Bochs 3.0 (build-deps/, tools/bochs3.sh)
#
# Jobs: as many as CPUs unless -j says otherwise.
# Variables: SUBARCHS (amd64 i386), APP (hypapps/helloworld), SL_BASE
# (0x10000000 = 256 MiB), DEBUG=1, V=1 (show commands), KVM=1 (make run under
# KVM with nested VMX, docs/kvm.md). build.sh sets them.

# As many jobs as CPUs unless -j says otherwise (the command line wins);
# makes started by this one share its job slots.
ifeq ($(MAKELEVEL),0)
MAKEFLAGS += -j$(shell nproc 2>/dev/null || echo 2)
endif

# `make clean all` and the like: this make only runs other makes, one after
# the other: the goals before clean, clean, the goals after it. (Making them
# here would use the directories and generated sources this make created when
# it read the Makefile, before clean removed them, and with -j race clean.)
goals_before_clean = $(if $(filter-out clean,$(firstword $(1))),$(firstword $(1)) \
	$(call goals_before_clean,$(wordlist 2,$(words $(1)),$(1))))
BEFORE_CLEAN := $(strip $(call goals_before_clean,$(MAKECMDGOALS)))
AFTER_CLEAN := $(filter-out clean,$(wordlist $(words $(BEFORE_CLEAN) x x),$(words \
	$(MAKECMDGOALS)),$(MAKECMDGOALS)))
ifneq ($(and $(filter clean,$(MAKECMDGOALS)),$(filter-out clean,$(MAKECMDGOALS))),)
.PHONY: $(MAKECMDGOALS)
$(firstword $(MAKECMDGOALS)):
	$(if $(BEFORE_CLEAN),@$(MAKE) --no-print-directory $(BEFORE_CLEAN))
	@$(MAKE) --no-print-directory clean
	$(if $(AFTER_CLEAN),@$(MAKE) --no-print-directory $(AFTER_CLEAN))
$(filter-out $(firstword $(MAKECMDGOALS)),$(MAKECMDGOALS)): ; @:
else

SUBARCHS ?= amd64 i386
APP ?= hypapps/helloworld
SL_BASE ?= 0x10000000
DEBUG ?= 0
V ?= 0

# SL area: boot parameters and SL stack (16 KiB), then page tables: 64 pages
# map 60 GiB above 4 GiB with 2 MiB pages (any amount with 1 GiB pages).
SL_AREA_SIZE := 0x44000

Q := $(if $(filter 1,$(V)),,@)
CC := gcc
LD := ld
PYTHON := /usr/bin/python3

.SECONDEXPANSION:
.DELETE_ON_ERROR:
.SUFFIXES:

# Release builds use -Os, which keeps the image under 256 KiB as tests are
# added, except for the VM exit path's C (EXIT_PATH_C), whose -O2 makes a
# round trip 3x shorter than -O1 (docs/performance.md). Switches compare
# instead of jumping through a table (-fno-jump-tables: 800 B of amd64's
# image), but not on the exit path.
ifeq ($(DEBUG),1)
OPT := -Og -g -DLHV_DEBUG=1
EXIT_PATH_OPT :=
SUFFIX := -debug
else
OPT := -Os -fno-jump-tables -DLHV_DEBUG=0
EXIT_PATH_OPT := -O2 -fjump-tables
SUFFIX :=
endif

COMMON_CFLAGS := -std=gnu11 -ffreestanding -fno-pic -fno-pie -fno-stack-protector \
	-fno-asynchronous-unwind-tables -fno-omit-frame-pointer -fno-toplevel-reorder \
	-fcf-protection=none -ffunction-sections -fdata-sections \
	-mgeneral-regs-only --param=min-pagesize=0 -nostdlib -pipe $(OPT) -Wall -Wextra -Werror -MMD -MP \
	-iquote xmhf/include
CFLAGS_32 := -m32 -march=i686 $(COMMON_CFLAGS)
CFLAGS_64 := -m64 -mno-red-zone -mcmodel=small $(COMMON_CFLAGS)
LDFLAGS := -nostdlib -static --build-id=none -z max-page-size=0x1000 -z noexecstack --gc-sections \
	--no-warn-rwx-segments

# The release image's target (issue #15: 256 KiB, both subarchs): a build of
# a larger hypervisor-x86-SUBARCH.bin says so (a warning while the target is
# not met: docs/performance.md)
IMAGE_MAX := 262144

LHV_RELEASE := 0.1
# C is compiled one directory at a time: each group below is one translation
# unit (build/unity/NAME.c, a generated file of #include lines), so a clean
# build of both subarchs runs 25 compile jobs instead of 151
# (docs/performance.md). Static names must be unique within a directory.
LIB_C := $(wildcard xmhf/lib/*.c)
RT_C := $(wildcard xmhf/runtime/*.c)
LHV_GROUPS := lhv lhv/vmx lhv/l0
# The VM exit path's C (its own unit, built -O2): the run loop and exit
# dispatch, and VMREAD/VMWRITE
EXIT_PATH_C := lhv/vmx/guest.c lhv/vmx/vmcs.c
# The suite is the exception: one object per file, so the edit-to-verdict
# loop (change one test, rebuild, boot it) recompiles one file, not the
# 11,000 lines of all tests (1.9 -> 0.6 s; docs/performance.md). Its files,
# in lhv/suite and its theme folders (two levels), link in path order, which
# is the order the suite runs its tests.
SUITE_C := $(sort $(wildcard lhv/suite/*.c lhv/suite/*/*.c lhv/suite/*/*/*.c))
# lhv's assembly (files with an -amd64/-i386 twin) is one unit per layer and
# subarch as well: build/unity/lhv-asm-SUBARCH.S (the platform),
# lhv-vmx-asm-SUBARCH.S, lhv-suite-asm-SUBARCH.S.
$(foreach a,amd64 i386,$(eval UNITY_lhv-asm-$(a) := $(wildcard lhv/*-$(a).S))\
	$(eval UNITY_lhv-vmx-asm-$(a) := $(wildcard lhv/vmx/*-$(a).S))\
	$(eval UNITY_lhv-suite-asm-$(a) := $(wildcard lhv/suite/*-$(a).S lhv/suite/*/*-$(a).S \
		lhv/suite/*/*/*-$(a).S)))

# Each layer sees its own headers and those below it (docs/design.md §1),
# so an upward #include does not compile. The platform (lhv/*), lhv/vmx
# and lhv/l0 are compiled through build/layers/, links made when the Makefile is read,
# whose directories hold only their layer (lhv/ itself holds vmx/ and suite/,
# and a file's own directory is searched first):
#   build/layers/platform/FILE -> lhv/FILE, each file of the platform: "cpu.h"
#   build/layers/vmx/vmx       -> lhv/vmx:                             "vmx/vmx.h"
#   build/layers/l0/l0         -> lhv/l0:                                "l0/l0.h"
#   build/layers/suite/suite   -> lhv/suite:                       "suite/suite.h"
# A unity source includes its files by a path relative to build/unity/ (no
# -iquote . that would show the whole tree; xmhf/ sees only xmhf/include).
# tests/system/check_layers.py, in make test, checks the rule for every
# spelling and for the assembly too.
LAYER_PLATFORM := $(notdir $(wildcard lhv/*.c lhv/*.h lhv/*.inc lhv/*.S))
LAYER_INC_platform := -iquote build/layers/platform
LAYER_INC_vmx := $(LAYER_INC_platform) -iquote build/layers/vmx
LAYER_INC_l0 := $(LAYER_INC_vmx) -iquote build/layers/l0
LAYER_INC_suite := $(LAYER_INC_l0) -iquote build/layers/suite
# how build/unity/NAME.c includes a file: through its layer's directory
unity_path = $(if $(filter lhv/vmx/%,$(1)),../layers/vmx/$(1:lhv/%=%),$(if $(filter \
	lhv/l0/%,$(1)),../layers/l0/$(1:lhv/%=%),$(if $(filter lhv/suite/%,$(1)),../../$(1),$(if \
	$(filter lhv/%,$(1)),../layers/platform/$(notdir $(1)),../../$(1)))))
# debug information and __FILE__ name the files as the tree does
PREFIX_MAPS := -ffile-prefix-map=build/unity/../layers/platform=lhv \
	-ffile-prefix-map=build/unity/../layers/vmx=lhv -ffile-prefix-map=build/unity/../layers/l0=lhv \
	-ffile-prefix-map=build/unity/../../= -ffile-prefix-map=build/layers/platform=lhv \
	-ffile-prefix-map=build/layers/vmx=lhv -ffile-prefix-map=build/layers/l0=lhv \
	-ffile-prefix-map=build/layers/suite=lhv -ffile-prefix-map=./=

GIT_VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)

.PHONY: all
all: $(SUBARCHS)

# --- one subarch: $(1) = amd64 | i386 -----------------------------------------
define subarch_rules
B_$(1) := build/$(1)$(SUFFIX)
ID_$(1) := $(if $(filter amd64,$(1)),2,1)
RTCFLAGS_$(1) := $(if $(filter amd64,$(1)),$$(CFLAGS_64),$$(CFLAGS_32) -mregparm=3) -DLHV_SUBARCH=$$(ID_$(1))
LDEMU_$(1) := $(if $(filter amd64,$(1)),elf_x86_64,elf_i386)
RTLIB_$(1) := $$(B_$(1))/unity/lib.o
INIT_OBJS_$(1) := $$(B32)/init/entry.o $$(B_$(1))/init/init.o $$(LIB32)
SL_OBJS_$(1) := $$(B32)/sl/entry.o $$(B_$(1))/sl/switch-$(1).o $$(B_$(1))/sl/sl.o $$(LIB32)
RT_OBJS_$(1) := $$(B_$(1))/runtime/entry-$(1).o \
	$$(foreach g,runtime $$(subst /,-,$$(LHV_GROUPS)) lhv-vmx-exit,$$(B_$(1))/unity/$$(g).o) \
	$$(B_$(1))/runtime/lhv-main.o $$(patsubst lhv/suite/%.c,$$(B_$(1))/suite/%.o,$$(SUITE_C)) \
	$$(foreach g,app-$$(notdir $$(APP)) lhv-asm-$(1) lhv-vmx-asm-$(1) lhv-suite-asm-$(1),\
		$$(B_$(1))/unity/$$(g).o) \
	$$(RTLIB_$(1))

.PHONY: $(1)
$(1): init-x86-$(1).bin hypervisor-x86-$(1).bin.gz

# 32-bit objects of init and SL that depend on the subarch (the rest is
# shared, below).
$$(B_$(1))/init/%.o $$(B_$(1))/sl/%.o: CFLAGS = $$(CFLAGS_32) -DLHV_SUBARCH=$$(ID_$(1))
$$(B_$(1))/init/%.o: xmhf/init/%.c Makefile ; $$(compile)
$$(B_$(1))/init/%.o: xmhf/init/%.S Makefile ; $$(compile)
$$(B_$(1))/sl/%.o: xmhf/sl/%.c Makefile ; $$(compile)
$$(B_$(1))/sl/%.o: xmhf/sl/%.S Makefile ; $$(compile)

# Runtime objects: the subarch's own code model, and each layer's include
# path (above).
$$(B_$(1))/runtime/%.o $$(B_$(1))/unity/%.o $$(B_$(1))/suite/%.o: \
		CFLAGS = $$(RTCFLAGS_$(1)) -iquote $$(B_$(1)) $$(PREFIX_MAPS)
$$(B_$(1))/unity/lhv.o $$(B_$(1))/unity/lhv-asm-$(1).o: CFLAGS += $$(LAYER_INC_platform)
$$(B_$(1))/unity/lhv-vmx.o $$(B_$(1))/unity/lhv-vmx-exit.o $$(B_$(1))/unity/lhv-vmx-asm-$(1).o: \
	CFLAGS += $$(LAYER_INC_vmx)
$$(B_$(1))/unity/lhv-l0.o: CFLAGS += $$(LAYER_INC_l0)
$$(B_$(1))/unity/lhv-suite-asm-$(1).o $$(B_$(1))/suite/%.o: CFLAGS += $$(LAYER_INC_suite)
# lhv/main.c, lhv_main, wires the layers together (the runtime's one call into
# LHV): the one platform file compiled on its own, seeing every layer.
$$(B_$(1))/runtime/lhv-main.o: CFLAGS += $$(LAYER_INC_suite)
$$(B_$(1))/runtime/lhv-main.o: lhv/main.c $$(B_$(1))/buildinfo.h Makefile ; $$(compile)
$$(B_$(1))/runtime/%.o: xmhf/runtime/%.S Makefile ; $$(compile)
$$(B_$(1))/unity/%.o: build/unity/%.c $$(B_$(1))/buildinfo.h Makefile ; $$(compile)
$$(B_$(1))/unity/%.o: build/unity/%.S Makefile ; $$(compile)
$$(B_$(1))/suite/%.o: lhv/suite/%.c $$(B_$(1))/buildinfo.h Makefile ; $$(compile)
$$(B_$(1))/unity/lhv-vmx-exit.o: CFLAGS += $$(EXIT_PATH_OPT)

# Build facts the banner prints (written when the Makefile is read, below);
# rewritten only when they change, so a new base or app relinks (the links
# depend on it) and nothing else rebuilds.
GENERATED += $$(B_$(1))/buildinfo.h build/root-$(1).stamp
TEXT_$$(B_$(1))/buildinfo.h = $$(hash)define LHV_VERSION "$$(LHV_RELEASE) (git $$(GIT_VERSION))"$$(nl)$$\
	$$(hash)define LHV_SUBARCH_NAME "$(1)"$$(nl)$$\
	$$(hash)define LHV_BUILD_CONFIG "app=$$(APP) sl-base=$$(SL_BASE) debug=$$(DEBUG)"

$$(B_$(1))/init.elf: $$(INIT_OBJS_$(1)) xmhf/init/init.ld
	$$(Q)$$(LD) -m elf_i386 $$(LDFLAGS) -T xmhf/init/init.ld -o $$@ $$(INIT_OBJS_$(1))
$$(B_$(1))/sl.elf: $$(SL_OBJS_$(1)) xmhf/sl/sl.ld $$(B_$(1))/buildinfo.h
	$$(Q)$$(LD) -m elf_i386 $$(LDFLAGS) --defsym=LHV_BASE=$$(SL_BASE) -T xmhf/sl/sl.ld -o $$@ \
		$$(SL_OBJS_$(1))
# The runtime starts on the first page after the SL: read __sl_end from it.
# Debug builds link twice: the second time with a table of the first link's
# text symbols (tools/symtab.py), placed after the code so nothing moves.
LINK_RT_$(1) = sl_end=$$$$(nm $$(B_$(1))/sl.elf | awk '$$$$3 == "__sl_end" { print $$$$1 }') && \
	$$(LD) -m $$(LDEMU_$(1)) $$(LDFLAGS) --defsym=LHV_BASE=$$(SL_BASE) \
		--defsym=LHV_RUNTIME_BASE=$$$$(( (0x$$$$sl_end + 0xfff) & ~0xfff )) \
		-T xmhf/runtime/runtime.ld
$$(B_$(1))/runtime.elf: $$(RT_OBJS_$(1)) xmhf/runtime/runtime.ld $$(B_$(1))/sl.elf \
		$$(B_$(1))/buildinfo.h tools/symtab.py
ifeq ($$(DEBUG),1)
	$$(Q)$$(LINK_RT_$(1)) -o $$@.nosym $$(RT_OBJS_$(1))
	$$(Q)nm -n $$@.nosym | $$(PYTHON) tools/symtab.py > $$(B_$(1))/symtab.c
	$$(Q)$$(CC) $$(RTCFLAGS_$(1)) -iquote lhv -c -o $$(B_$(1))/symtab.o $$(B_$(1))/symtab.c
	$$(Q)$$(LINK_RT_$(1)) -o $$@ $$(RT_OBJS_$(1)) $$(B_$(1))/symtab.o
else
	$$(Q)$$(LINK_RT_$(1)) -o $$@ $$(RT_OBJS_$(1))
endif

# The tree root holds one build of each subarch: build/root-$(1).stamp (written
# below) remembers which (release or debug), so switching back re-copies even
# when the objects are older.
TEXT_build/root-$(1).stamp = $$(B_$(1))

init-x86-$(1).bin: $$(B_$(1))/init.elf build/root-$(1).stamp
	$$(Q)objcopy --strip-all $$< $$@
	$$(Q)cp $$< init-x86-$(1).elf
hypervisor-x86-$(1).bin: $$(B_$(1))/sl.elf $$(B_$(1))/runtime.elf build/host/mkimage \
		build/root-$(1).stamp
	$$(Q)build/host/mkimage --subarch $(1) --base $$(SL_BASE) --sl-area-size $$(SL_AREA_SIZE) \
		$(if $(filter 1,$(DEBUG)),--debug) $$(B_$(1))/sl.elf $$(B_$(1))/runtime.elf $$@
	$(if $(filter 1,$(DEBUG)),,$$(Q)n=$$$$(stat -c %s $$@) && [ $$$$n -le $(IMAGE_MAX) ] || echo \
		"warning: $$@ is $$$$n bytes, over the target of $(IMAGE_MAX) (docs/performance.md)" >&2)
	$$(Q)cp $$(B_$(1))/sl.elf sl-x86-$(1).elf
	$$(Q)cp $$(B_$(1))/runtime.elf runtime-x86-$(1).elf
hypervisor-x86-$(1).bin.gz: hypervisor-x86-$(1).bin
	$$(Q)gzip -9 -n -c $$< > $$@

# The same images inside the build directory, leaving the tree root alone
# (tests/system/test_debug.py boots the debug build while the root holds the
# release build).
$$(B_$(1))/init.bin: $$(B_$(1))/init.elf
	$$(Q)objcopy --strip-all $$< $$@
$$(B_$(1))/hypervisor.bin: $$(B_$(1))/sl.elf $$(B_$(1))/runtime.elf build/host/mkimage
	$$(Q)build/host/mkimage --subarch $(1) --base $$(SL_BASE) --sl-area-size $$(SL_AREA_SIZE) \
		$(if $(filter 1,$(DEBUG)),--debug) $$(B_$(1))/sl.elf $$(B_$(1))/runtime.elf $$@

-include $$(wildcard $$(B_$(1))/*/*.d $$(B_$(1))/*/*/*.d $$(B_$(1))/*/*/*/*.d)
endef

# One process per object (mkdir and echo cost as much as a small compile):
# the directories are made once, when the Makefile is read.
define compile
$(if $(filter 1,$(V)),,$(info $(sp) CC      $@))$(Q)$(CC) $(CFLAGS) -c -o $@ $<
endef
sp :=
space := $(sp) $(sp)
hash := \#
define nl


endef

# Generated files (GENERATED, each one's text in TEXT_path) are written when
# the Makefile is read, without starting a process, and only when their text
# changed, so their times change only with their text. build/generated.mk
# records what was written (reading the files back with $(file <) made equal
# texts compare unequal here, GNU Make 4.3).
-include build/generated.mk
text_key = $(subst $(nl),$(space)\n$(space),$(TEXT_$(1)))
same_text = $(if $(subst x$(1)x,,x$(2)x)$(subst x$(2)x,,x$(1)x),,same)
stale_files = $(foreach p,$(GENERATED),\
	$(if $(and $(wildcard $(p)),$(call same_text,$(WRITTEN_$(p)),$(call text_key,$(p)))),,$(p)))
# What generated.mk records: every file this make generates and those other
# builds did (a DEBUG=1 build must not make the release one rewrite its files).
recorded = $(sort $(WRITTEN_FILES) $(GENERATED))
record_key = $(if $(filter $(1),$(GENERATED)),$(call text_key,$(1)),$(WRITTEN_$(1)))
define write_generated
$(foreach p,$(1),$(file >$(p),$(TEXT_$(p))))
$(if $(1),$(file >build/generated.mk,WRITTEN_FILES := $(recorded)$(nl)$(foreach p,$(recorded),\
	WRITTEN_$(p) := $(subst $(hash),\$(hash),$(call record_key,$(p)))$(nl))))
endef

# The translation units: build/unity/NAME.c includes every .c file of one
# group (written below, when the list changes: a file added or removed).
UNITY_lib := $(LIB_C)
UNITY_runtime := $(RT_C)
UNITY_app-$(notdir $(APP)) := $(wildcard $(APP)/*.c)
$(foreach g,$(LHV_GROUPS),$(eval UNITY_$(subst /,-,$(g)) := $(filter-out lhv/main.c,$(wildcard \
	$(g)/*.c))))
UNITY_lhv-vmx := $(filter-out $(EXIT_PATH_C),$(UNITY_lhv-vmx))
UNITY_lhv-vmx-exit := $(EXIT_PATH_C)
UNITY_C := lib runtime app-$(notdir $(APP)) $(subst /,-,$(LHV_GROUPS)) lhv-vmx-exit
UNITY_S := $(foreach a,amd64 i386,lhv-asm-$(a) lhv-vmx-asm-$(a) lhv-suite-asm-$(a))
unity_text = $(subst $(space)$(hash),$(nl)$(hash),$(foreach f,$(UNITY_$(1)),$(hash)include \
	"$(call unity_path,$(f))"))
GENERATED += $(foreach g,$(UNITY_C),build/unity/$(g).c) $(foreach g,$(UNITY_S),build/unity/$(g).S)
$(foreach g,$(UNITY_C),$(eval TEXT_build/unity/$(g).c = $$(call unity_text,$(g))))
$(foreach g,$(UNITY_S),$(eval TEXT_build/unity/$(g).S = $$(call unity_text,$(g))))

# 32-bit code that does not depend on the subarch, built once: the library
# (for init and SL; the runtime builds its own) and init's and the SL's other files.
B32 := build/common32$(SUFFIX)
LIB32 := $(B32)/unity/lib.o
$(B32)/%.o: CFLAGS = $(CFLAGS_32) $(PREFIX_MAPS)
$(LIB32): build/unity/lib.c Makefile ; $(compile)
$(B32)/init/%.o: xmhf/init/%.S Makefile ; $(compile)
$(B32)/sl/%.o: xmhf/sl/%.S Makefile ; $(compile)
-include $(wildcard $(B32)/*/*.d)

$(foreach a,amd64 i386,$(eval $(call subarch_rules,$(a))))

# Generated sources and directories, made when the Makefile is read: one
# process (mkdir) in all, where a rule per file costs several (process
# creation is most of a small job's time here, docs/performance.md).
OBJ_DIRS := build/unity build/host $(B32)/init $(B32)/sl $(B32)/unity \
	$(foreach a,amd64 i386,$(addprefix $(B_$(a))/,init sl runtime unity suite \
		$(patsubst lhv/%/,%,$(sort $(dir $(SUITE_C))))))
# The layers' links (above), made where missing: no process when all are there.
LAYER_LINKS := $(addprefix build/layers/platform/,$(LAYER_PLATFORM)) build/layers/vmx/vmx \
	build/layers/l0/l0 build/layers/suite/suite
ifneq ($(filter-out clean,$(MAKECMDGOALS))$(if $(MAKECMDGOALS),,all),)
$(shell mkdir -p $(OBJ_DIRS) build/layers/platform build/layers/vmx build/layers/l0 \
	build/layers/suite)
ifneq ($(filter-out $(wildcard $(LAYER_LINKS)),$(LAYER_LINKS)),)
$(shell ln -sf $(addprefix ../../../lhv/,$(LAYER_PLATFORM)) build/layers/platform/ && \
	ln -sfn ../../../lhv/vmx build/layers/vmx/vmx && ln -sfn ../../../lhv/l0 build/layers/l0/l0 && \
	ln -sfn ../../../lhv/suite build/layers/suite/suite)
endif
$(eval $(call write_generated,$(stale_files)))
endif

build/host/mkimage: tools/mkimage.c tools/lz_pack.c tools/lz_pack.h xmhf/lib/crc32.c \
		xmhf/include/image.h xmhf/include/lz.h xmhf/include/types.h
	$(Q)$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -iquote xmhf/include -o $@ tools/mkimage.c \
		tools/lz_pack.c xmhf/lib/crc32.c

.PHONY: FORCE
FORCE:

include tests/unit/unit.mk
include tests/fuzz/fuzz.mk

# --- running and testing ----------------------------------------------------
.PHONY: deps iso run run-bochs debug gdb usb bench test test-full system clean distclean \
	compare-l0

deps:
	@bash tools/deps.sh

# deps comes first and alone: on a fresh machine it installs the compiler.
iso: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)for a in $(SUBARCHS); do $(PYTHON) tools/mkiso.py $$a lhv-$$a.iso || exit 1; done

run: deps
	$(Q)$(MAKE) --no-print-directory amd64
	$(PYTHON) .jenkins/test3.py --subarch amd64 --boot grub --smp 2 --watch-serial $(if $(filter 1,$(KVM)),--accel kvm)

run-bochs: deps
	$(Q)$(MAKE) --no-print-directory amd64
	$(PYTHON) .jenkins/test3.py --subarch amd64 --emulator bochs --watch-serial

# Debugging (docs/debugging.md): the amd64 debug build in QEMU, stopped at the
# reset vector with gdb's stub on localhost:1234 (-s -S); `make gdb` in a
# second terminal attaches with every stage's symbols.
debug: deps
	./build.sh amd64 --debug
	@echo "make debug: QEMU waits for gdb on localhost:1234; in another terminal: make gdb"
	$(PYTHON) .jenkins/test3.py --subarch amd64 --boot direct --name amd64-debug --watch-serial \
		--timeout 86400 --extra-qemu-args "-s -S"

gdb:
	gdb -x tools/gdb/lhv-amd64.gdb -ex 'target remote localhost:1234'

# For editors (clangd, ccls): the real compile commands of both subarchs.
compile_commands.json: FORCE
	$(PYTHON) tools/compile_commands.py

# Real hardware (docs/hardware.md): the hybrid GRUB image as a disk image.
usb: deps
	$(Q)$(MAKE) --no-print-directory amd64
	$(PYTHON) tools/mkiso.py amd64 lhv-usb-amd64.img
	@echo "make usb: lhv-usb-amd64.img is a hybrid image; write it to a USB stick (ALL DATA ON IT IS LOST):"
	@echo "  lsblk    # find the stick, e.g. /dev/sdX (not a partition like /dev/sdX1)"
	@echo "  sudo dd if=lhv-usb-amd64.img of=/dev/sdX bs=4M conv=fsync status=progress"

# Build, size, boot, VM-exit and timer figures (docs/performance.md) into
# bench/results.json; BASELINE=FILE prints ratios, BENCH_ARGS="--quick" etc.
# (BENCH_ARGS="--only nested": LHV under LHV as L0 with nested VMX alone)
bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(PYTHON) tools/bench/bench.py $(if $(BASELINE),--baseline $(BASELINE)) $(BENCH_ARGS)

system: all
	$(PYTHON) tests/system/matrix.py

test: deps
	$(MAKE) --no-print-directory all unit
	$(PYTHON) tests/system/test_test3.py
	$(PYTHON) tests/system/test_tools.py
	$(PYTHON) tests/system/test_mutate.py
	$(PYTHON) tests/system/test_debug.py
	$(PYTHON) tests/system/check_docs.py
	$(PYTHON) tests/system/check_coverage.py
	$(PYTHON) tests/system/check_coverage.py --self-test
	$(PYTHON) tests/system/check_layers.py
	$(PYTHON) tests/system/check_layers.py --self-test
	$(PYTHON) tests/system/check_entry_checks_doc.py
	$(PYTHON) tests/system/matrix.py $(MATRIX_ARGS)
	$(PYTHON) tests/system/check_deviations.py

# Mutation testing (docs/tests.md): each bug of tests/mutations.ini applied to
# a scratch copy (build/mutate), built, its tests run; caught/survived and the
# score. Minutes, so not part of make test. MUTATE_ARGS="-j 2 --only ID".
.PHONY: mutate
mutate: deps
	$(PYTHON) tools/mutate.py $(MUTATE_ARGS)

# make test with the long cases as well (tests/system/matrix.py --full)
test-full:
	$(MAKE) --no-print-directory test MATRIX_ARGS=--full

# One suite run per Bochs version and subarch, and one as L1 on LHV as L0 with
# nested VMX (tools/l0compare.py); COMPARE_ARGS=--no-run rewrites the page from
# the last runs' logs
compare-l0: deps
	$(Q)$(MAKE) --no-print-directory all
	$(PYTHON) tools/l0compare.py $(COMPARE_ARGS)

# make clean leaves build-deps/ (Bochs 3.0, minutes to rebuild); this does not
distclean: clean
	rm -rf build-deps

clean:
	rm -rf build init-x86-*.bin init-x86-*.elf sl-x86-*.elf runtime-x86-*.elf \
		hypervisor-x86-*.bin hypervisor-x86-*.bin.gz lhv-*.iso lhv-usb-*.img \
		compile_commands.json

endif # AFTER_CLEAN
