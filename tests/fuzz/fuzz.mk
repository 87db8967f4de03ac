# libFuzzer harnesses (clang) for the parsers that read outside input: the
# command line, the multiboot info and memory map, the image header and the
# ACPI tables. Included by the top-level Makefile. `make fuzz` installs clang
# when missing (tools/deps.sh fuzz), writes the seeds (tests/fuzz/mkseeds.py),
# runs each harness for FUZZ_SECONDS and prints executions and crashes.
# docs/fuzzing.md says more.

FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_DIR := build/fuzz
# As unit.mk's flags: the library's formatting functions are renamed so they
# do not clash with libc's.
FUZZ_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -iquote xmhf/include \
	-DLHV_HOST_TEST -iquote lhv -Dvsnprintf=lhv_vsnprintf -Dsnprintf=lhv_snprintf \
	-Dstrlcpy=lhv_strlcpy -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer

FUZZ_SRCS_options := xmhf/lib/options.c xmhf/lib/parse.c xmhf/lib/printf.c xmhf/lib/strlcpy.c
FUZZ_SRCS_bootinfo := xmhf/lib/bootinfo.c xmhf/lib/options.c xmhf/lib/parse.c \
	xmhf/lib/mmap.c xmhf/lib/printf.c xmhf/lib/strlcpy.c
FUZZ_SRCS_image := xmhf/lib/image.c xmhf/lib/crc32.c xmhf/lib/lz.c xmhf/lib/printf.c \
	xmhf/lib/strlcpy.c
FUZZ_SRCS_acpi := xmhf/lib/acpi.c xmhf/lib/printf.c

# Per harness: options longer than LHV_CMDLINE_MAX reach the length check.
FUZZ_ARGS_options := -max_len=4200 -dict=tests/fuzz/options.dict
FUZZ_ARGS_bootinfo := -max_len=8192
FUZZ_ARGS_image := -max_len=8192
FUZZ_ARGS_acpi := -max_len=16384

FUZZ_NAMES := options bootinfo image acpi
FUZZ_BINS := $(FUZZ_NAMES:%=$(FUZZ_DIR)/fuzz_%)

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $$(FUZZ_SRCS_$$*) $(wildcard xmhf/include/*.h) \
		tests/fuzz/fuzz.mk
	@mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_SRCS_$*)

.PHONY: fuzz fuzz-deps fuzz-build fuzz-seeds
fuzz-deps:
	@sh tools/deps.sh fuzz

# The binaries need clang: deps first, then build (one make, in order).
fuzz-build: fuzz-deps
	@$(MAKE) --no-print-directory $(FUZZ_BINS)

fuzz-seeds:
	@rm -rf $(FUZZ_DIR)/seeds
	@python3 tests/fuzz/mkseeds.py $(FUZZ_DIR)/seeds

# Each harness runs for FUZZ_SECONDS on its growing corpus ($(FUZZ_DIR)/corpus/NAME,
# kept between runs) and the seeds; a crash leaves its input as
# $(FUZZ_DIR)/crash-NAME-*. Fails when any harness found a crash.
fuzz: fuzz-build fuzz-seeds
	@failed=0; rm -f $(addprefix $(FUZZ_DIR)/,$(FUZZ_NAMES:%=%-*)); \
	$(foreach n,$(FUZZ_NAMES),mkdir -p $(FUZZ_DIR)/corpus/$(n); \
		echo "fuzz: $(n) for $(FUZZ_SECONDS) s"; \
		$(FUZZ_DIR)/fuzz_$(n) -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix=$(FUZZ_DIR)/$(n)- $(FUZZ_ARGS_$(n)) \
			$(FUZZ_DIR)/corpus/$(n) $(FUZZ_DIR)/seeds/$(n) >$(FUZZ_DIR)/$(n).log 2>&1 \
			|| failed=1;) \
	for n in $(FUZZ_NAMES); do \
		execs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $(FUZZ_DIR)/$$n.log); \
		crashes=$$(ls $(FUZZ_DIR)/$$n-* 2>/dev/null | wc -l); \
		echo "fuzz: $$n: $${execs:-?} executions, $$crashes crash inputs" \
			"($(FUZZ_DIR)/$$n.log)"; \
	done; \
	exit $$failed
