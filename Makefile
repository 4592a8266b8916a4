# headcount -- small filters for studying the attention heads of BERT.
# GNU make.  Any variable can be overridden: make CC=clang, make SAN=1.

PREFIX = /usr/local
MANPREFIX = $(PREFIX)/share/man

CC = cc
OPT = -O2
# -ffp-contract=off: a * b + c stays two roundings with any compiler
# (clang fuses them by default), so every code path gives the same bits
CFLAGS = -std=c11 $(OPT) -g -Wall -Wextra -Wno-unused-parameter -Wno-psabi \
	-ffp-contract=off -D_GNU_SOURCE -I/usr/include/cairo -Icommon
LDFLAGS =
MSGPACK_LIBS = -lmsgpackc
LDLIBS = common/libcommon.a -lopenblas $(MSGPACK_LIBS) -lcairo -lutf8proc \
	-lcjson -lz -lm

# make check SAN=1: the whole suite under AddressSanitizer and UBSan.
ifeq ($(SAN),1)
CC = clang
OPT = -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined
LDFLAGS = -fsanitize=address,undefined
endif

# Debian packages that building, testing and the demo need (sentencepiece
# and python3-sentencepiece: the tests' reference for common/spm.c).
DEBS = gcc make libopenblas-dev libmsgpack-dev zlib1g-dev libutf8proc-dev \
	libcjson-dev libcairo2-dev fonts-dejavu-core bats mandoc parallel \
	python3-numpy python3-msgpack chromium sentencepiece \
	python3-sentencepiece python3-regex

BIN = $(patsubst %.c,%,$(wildcard cmd/*.c))
LIBOBJ = $(patsubst %.c,%.o,$(wildcard common/*.c))
HDR = $(wildcard common/*.h)

all: common/libcommon.a $(BIN)

$(LIBOBJ): $(HDR)

common/libcommon.a: $(LIBOBJ)
	rm -f $@
	$(AR) -rc $@ $(LIBOBJ)

cmd/%: cmd/%.c common/libcommon.a $(HDR)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LDLIBS)

# attend-view's page, common/view.html, compiled in as a byte array.
cmd/attend-view: cmd/view.inc
cmd/view.inc: common/view.html
	od -An -v -tx1 common/view.html | \
	    sed 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g' >$@

deps:
	@missing=; for p in $(DEBS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		    grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		    apt-get install -y -qq $$missing >/dev/null || exit 1; \
	else \
		echo "missing Debian packages; run:" >&2; \
		echo "  sudo apt-get install$$missing" >&2; exit 1; \
	fi

check: deps
	$(MAKE) all
	test/run

demo: deps
	$(MAKE) all
	$(MAKE) -f pipelines/demo.mk demo

# Debian packages that `make bench` needs besides (PyTorch and the OpenMP
# build of OpenBLAS, for the encode benchmark beside PyTorch).
BENCH_DEBS = python3-torch libopenblas0-openmp time

bench: DEBS += $(BENCH_DEBS)
bench: deps
	$(MAKE) all
	test/bench/run

# Pre-training from scratch (pipelines/pretrain.mk, emergence.mk): the
# corpus is the King James Bible of bible-kjv-text (public domain),
# printed by bible-kjv's `bible`.
PRETRAIN_DEBS = bible-kjv bible-kjv-text

pretrain: DEBS += $(PRETRAIN_DEBS)
pretrain: deps
	$(MAKE) all
	$(MAKE) -f pipelines/pretrain.mk
	$(MAKE) -f pipelines/emergence.mk

# the filters' pages, and headcount(7): the records they pass
lint:
	mandoc -Tlint -W warning man/*.1 man/*.7

install: all
	mkdir -p $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(MANPREFIX)/man1 \
	    $(DESTDIR)$(MANPREFIX)/man7
	cp -f $(BIN) $(DESTDIR)$(PREFIX)/bin
	cp -f man/*.1 $(DESTDIR)$(MANPREFIX)/man1
	cp -f man/*.7 $(DESTDIR)$(MANPREFIX)/man7

uninstall:
	for f in $(notdir $(BIN)); do rm -f $(DESTDIR)$(PREFIX)/bin/$$f; done
	for f in man/*.1; do rm -f $(DESTDIR)$(MANPREFIX)/man1/$${f#man/}; done
	for f in man/*.7; do rm -f $(DESTDIR)$(MANPREFIX)/man7/$${f#man/}; done

clean:
	rm -f $(BIN) common/*.o common/libcommon.a cmd/view.inc

.PHONY: all deps check demo bench pretrain lint install uninstall clean

# ---- fuzzing (libFuzzer, clang): make fuzz FUZZTIME=600 ----
# Each test/fuzz/NAME.c runs for FUZZTIME seconds on its corpus,
# test/fuzz/corpus/NAME, which grows; what it finds is written to
# test/fuzz/crash-NAME-*, its output to test/fuzz/NAME.log, and make stops.
FUZZTIME = 60
FUZZ = $(patsubst %.c,%,$(wildcard test/fuzz/*.c))
FUZZCC = clang
FUZZFLAGS = -std=c11 -g -O1 -ffp-contract=off -D_GNU_SOURCE \
	-I/usr/include/cairo -Icommon \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
# Debian packages that `make fuzz` needs besides (clang's libFuzzer).
FUZZ_DEBS = clang libclang-rt-dev

test/fuzz/%: test/fuzz/%.c test/fuzz/memfile.h $(wildcard common/*.c) \
    $(HDR)
	$(FUZZCC) $(FUZZFLAGS) -o $@ $< $(wildcard common/*.c) \
	    -lopenblas $(MSGPACK_LIBS) -lcairo -lutf8proc -lcjson -lz -lm

fuzz-build: $(FUZZ)

fuzz: DEBS += $(FUZZ_DEBS)
fuzz: deps
	$(MAKE) fuzz-build
	@for f in $(FUZZ); do \
		n=$${f#test/fuzz/}; mkdir -p test/fuzz/corpus/$$n; \
		echo "fuzz: $$n for $(FUZZTIME) s"; \
		$$f -max_total_time=$(FUZZTIME) -print_final_stats=1 \
		    -artifact_prefix=test/fuzz/crash-$$n- \
		    test/fuzz/corpus/$$n >test/fuzz/$$n.log 2>&1; st=$$?; \
		grep -E 'stat::number_of_executed_units|ERROR|SUMMARY' \
		    test/fuzz/$$n.log; \
		if [ $$st -ne 0 ]; then \
			echo "fuzz: $$n failed: test/fuzz/$$n.log" >&2; \
			exit 1; \
		fi; \
	done

clean: clean-fuzz
clean-fuzz:
	rm -f $(FUZZ) test/fuzz/*.log

.PHONY: fuzz fuzz-build clean-fuzz

# ---- test-only programs (not installed): finetune's gradient check ----
TESTBIN = test/gradcheck

test/gradcheck: test/gradcheck.c common/libcommon.a $(HDR)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LDLIBS)

check: $(TESTBIN)

clean: clean-testbin
clean-testbin:
	rm -f $(TESTBIN)

.PHONY: clean-testbin

# ---- test-only programs: pre-training's heads, against HF and by finite
# differences (test/pretrain.bats) ----
TESTBIN += test/ptcheck
check: test/ptcheck

test/ptcheck: test/ptcheck.c common/libcommon.a $(HDR)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LDLIBS)

# ---- test-only programs: the record layer's driver (test/rec.bats) ----
TESTBIN += test/rectest
check: test/rectest

test/rectest: test/rectest.c common/libcommon.a $(HDR)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LDLIBS)

# ---- test-only programs: SentencePiece segmentation against the library's
# (test/spmcheck.py) ----
TESTBIN += test/spmtest
check: test/spmtest

test/spmtest: test/spmtest.c common/libcommon.a $(HDR)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LDLIBS)

# ---- test-only programs: the vector erf and exp against libm (encode.bats) ----
TESTBIN += test/vmcheck
check: test/vmcheck

test/vmcheck: test/vmcheck.c common/libcommon.a $(HDR)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LDLIBS)

# ---- test-only programs: the f32 kernel against its scalar reference ----
TESTBIN += test/gemmcheck
check: test/gemmcheck

test/gemmcheck: test/gemmcheck.c common/libcommon.a $(HDR)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LDLIBS)

# ---- test-only programs: the bf16 kernel against its scalar reference ----
TESTBIN += test/bfcheck
check: test/bfcheck

test/bfcheck: test/bfcheck.c common/libcommon.a $(HDR)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LDLIBS)

# ---- test-only programs: each fuzz target replayed on its corpus, without
# libFuzzer (test/fuzz.bats), in the build's flags: SAN=1 replays under the
# sanitizers ----
REPLAY = $(patsubst test/fuzz/%.c,test/replay/%,$(wildcard test/fuzz/*.c))
TESTBIN += $(REPLAY)
check: $(REPLAY)

test/replay/%: test/fuzz/%.c test/fuzz/memfile.h test/fuzzreplay.c \
    common/libcommon.a $(HDR)
	@mkdir -p test/replay
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< test/fuzzreplay.c $(LDLIBS)
