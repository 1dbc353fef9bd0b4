# earsight — see README.md. `make` builds build/libearsight.a and build/earsight.
# Sources are found by folder: a new .c file in nn/, audio/, saliency/, viz/, base/, pipeline/
# joins the library, one in apps/ joins the binary, tests/test_NAME.c becomes build/tests/test_NAME.

CC      ?= cc
OPT     ?= -O3 -march=native
CFLAGS  ?= $(OPT) -g
PKGS    := fftw3f sndfile vorbis ogg soxr libpng libisal freetype2 fontconfig libprotobuf-c libcjson
# OpenBLAS built for OpenMP, so BLAS and our own parallel loops share one thread pool instead
# of two pools spinning against each other on the same cores; rpath pins it over the
# system's default (pthread) alternative.
MULTIARCH := $(shell gcc -dumpmachine)
BLAS_DIR := /usr/lib/$(MULTIARCH)/openblas-openmp
BLAS_LIBS := -L$(BLAS_DIR) -Wl,-rpath,$(BLAS_DIR) -lopenblas
OMP     ?= -fopenmp
# -fPIC: the same objects make libearsight.a and libearsight.so (no interposition within it).
CFLAGS  += -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
           -fPIC -fno-semantic-interposition $(OMP) -I. -I$(B)/gen -I/usr/include/$(MULTIARCH)/openblas-openmp \
           $(shell pkg-config --cflags $(PKGS) sdl2)
LDLIBS  := $(BLAS_LIBS) $(shell pkg-config --libs $(PKGS)) -lm $(OMP)
SDL_LIBS := $(shell pkg-config --libs sdl2)
TEST_LIBS := $(shell pkg-config --libs cmocka)

B := build
# The ONNX schema is the one Debian ships in libonnx-dev, compiled at build time (never copied).
ONNX_PROTO := /usr/include/onnx/onnx.proto
GEN_SRC := $(B)/gen/onnx.pb-c.c
LIB_SRC := $(sort $(wildcard base/*.c nn/*.c audio/*.c saliency/*.c viz/*.c pipeline/*.c))
APP_SRC := $(sort $(wildcard apps/*.c apps/view/*.c))
TEST_SRC := $(sort $(wildcard tests/test_*.c))
EX_SRC  := $(sort $(wildcard examples/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(B)/obj/%.o) $(B)/obj/gen/onnx.pb-c.o
APP_OBJ := $(APP_SRC:%.c=$(B)/obj/%.o)
TESTS   := $(TEST_SRC:tests/%.c=$(B)/tests/%)
EXAMPLES := $(EX_SRC:examples/%.c=$(B)/examples/%)

all: $(B)/libearsight.a $(B)/libearsight.so $(B)/earsight $(EXAMPLES)

$(B)/gen/onnx.pb-c.c $(B)/gen/onnx.pb-c.h &: $(ONNX_PROTO)
	@mkdir -p $(B)/gen
	protoc-c --proto_path=$(dir $(ONNX_PROTO)) --c_out=$(B)/gen $(ONNX_PROTO)

$(B)/obj/gen/onnx.pb-c.o: $(B)/gen/onnx.pb-c.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -w -c $< -o $@

$(B)/obj/%.o: %.c $(B)/gen/onnx.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(B)/libearsight.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

VERSION := $(shell sed -n 's/^\#define ES_VERSION "\(.*\)"/\1/p' base/es_base.h)
SOVER   := 0
$(B)/libearsight.so: $(LIB_OBJ)
	$(CC) $(CFLAGS) -shared -Wl,-soname,libearsight.so.$(SOVER) $^ -o $@ $(LDLIBS)

$(B)/earsight: $(APP_OBJ) $(B)/libearsight.a
	$(CC) $(CFLAGS) $(APP_OBJ) $(B)/libearsight.a -o $@ $(LDLIBS) $(SDL_LIBS)

$(B)/tests/%: tests/%.c $(wildcard tests/*.h) $(B)/libearsight.a
	@mkdir -p $(B)/tests
	$(CC) $(CFLAGS) $< $(B)/libearsight.a -o $@ $(LDLIBS) $(TEST_LIBS)

# The option parser's test links the parser itself (apps/opt.c and the messages of apps/cli.c).
$(B)/tests/test_opt: tests/test_opt.c apps/opt.c apps/opt.h apps/cli.c apps/cli.h tests/testutil.h $(B)/libearsight.a
	@mkdir -p $(B)/tests
	$(CC) $(CFLAGS) $< apps/opt.c apps/cli.c $(B)/libearsight.a -o $@ $(LDLIBS) $(TEST_LIBS)

$(B)/examples/%: examples/%.c $(B)/libearsight.a
	@mkdir -p $(B)/examples
	$(CC) $(CFLAGS) $< $(B)/libearsight.a -o $@ $(LDLIBS)

$(B)/bench/%: bench/%.c $(B)/libearsight.a
	@mkdir -p $(B)/bench
	$(CC) $(CFLAGS) $< $(B)/libearsight.a -o $@ $(LDLIBS)

# CLI checks (tests/cli_*.sh) run the binary of this build tree and print cmocka-style lines.
CLI_TESTS := $(sort $(wildcard tests/cli_*.sh))
# test and demo install what is missing first (scripts/deps.sh, when a cheap check fails),
# then build in a make of their own, which reads the flags pkg-config gives once installed.
test: deps
	@$(MAKE) --no-print-directory run-tests
run-tests: all $(TESTS)
	@EARSIGHT_BIN=$(B)/earsight tests/run.sh $(TESTS) $(CLI_TESTS)

deps:
	@pkg-config --exists $(PKGS) sdl2 cmocka 2>/dev/null && \
	  command -v protoc-c >/dev/null && command -v Xvfb >/dev/null && command -v lame >/dev/null && \
	  command -v valgrind >/dev/null && [ -f $(ONNX_PROTO) ] && [ -d $(BLAS_DIR) ] || scripts/deps.sh

# The same tests under valgrind's memcheck (tests/valgrind.sh), in a build tree compiled for
# AVX2, which valgrind 3.19 decodes (it knows no AVX-512). Hours on 2 cores: not part of CI.
valgrind: deps
	@$(MAKE) --no-print-directory B=build-vg OPT="-O2 -march=x86-64-v3" run-valgrind
run-valgrind: all $(TESTS)
	@tests/valgrind.sh $(B)

# The same tests under AddressSanitizer + UndefinedBehaviorSanitizer, in a build tree of their own.
asan:
	$(MAKE) B=build-asan OPT="-O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" test

BENCH_SRC := $(sort $(wildcard bench/*.c))
bench: all $(BENCH_SRC:bench/%.c=$(B)/bench/%)
	@bench/run.sh $(B)

# The shipped bird detector: the base model (assets/models/bird-detector-base.onnx, the BAD
# 2017 recipe's, see assets/README.md) fine-tuned on the clips of Debian's
# tuxpaint-stamps-default that assets/data/labels.csv lists (scripts/clips.sh fetches them when
# they are not installed): one epoch of 34 batches, batch norm on the base's statistics
# (--frozen-stats), three in four non-bird windows synthetic sounds. Same seed and
# MODEL_THREADS give a byte-identical model.
MODEL_THREADS ?= 1
MODEL_OUT ?= assets/models/bird-detector.onnx
MODEL_BASE ?= assets/models/bird-detector-base.onnx
AUGMENT := --synth-db -80:-10 --quieter 0.25 --quiet-db 60 --floor-db -90:-50 --crop-tries 4 --synth-select
model: $(B)/earsight
	@root=$$(scripts/clips.sh $(B)/data/tuxpaint) && mkdir -p $(B)/model $(dir $(MODEL_OUT)) && start=$$(date +%s) && \
	OMP_NUM_THREADS=$(MODEL_THREADS) $(B)/earsight train --data assets/data/labels.csv \
	  --root "$$root" --arch $(MODEL_BASE) --frozen-stats --epochs 1 --steps 34 --batch 32 \
	  --optimizer adam --lr 1e-4 --seed 1 --synth 0.75 $(AUGMENT) \
	  --val-split 0.2 --val-csv $(B)/model/val.csv -j $(MODEL_THREADS) \
	  -o $(MODEL_OUT) && \
	echo "make model: trained in $$(( $$(date +%s) - start )) s on $(MODEL_THREADS) thread(s)" && \
	$(B)/earsight eval -m $(MODEL_OUT) --data $(B)/model/val.csv --root "$$root" -q \
	  --png $(B)/model/roc.png

# The from-scratch recipe of assets/README.md's runs (24 epochs; not the shipped model's).
model-scratch: $(B)/earsight
	@root=$$(scripts/clips.sh $(B)/data/tuxpaint) && mkdir -p $(B)/model $(dir $(MODEL_OUT)) && \
	OMP_NUM_THREADS=$(MODEL_THREADS) $(B)/earsight train --data assets/data/labels.csv \
	  --root "$$root" --arch bad-densenet --epochs 24 --batch 32 --optimizer adam --seed 1 \
	  --lr-end 1e-5 --precise-bn 8 --synth 0.5 $(AUGMENT) \
	  --val-split 0.2 --val-csv $(B)/model/val.csv -j $(MODEL_THREADS) -o $(MODEL_OUT)

# The detector's targets: P(bird) < 0.1 on digital silence, white noise and a 50 Hz hum, > 0.5
# on the example blackbird (MODEL=FILE checks another model).
model-check: $(B)/earsight
	@EARSIGHT_BIN=$(B)/earsight MODEL=$(MODEL) bash tests/cli_model.sh

# The shipped bird detector at work on the example clips: its verdicts, pictures and a sound of
# what it heard, and the gallery of every example (earsight export) in build/demo/.
DEMO := $(B)/demo
BIRD := assets/examples/animals__birds__blackbird.ogg
demo: deps
	@$(MAKE) --no-print-directory all
	@mkdir -p $(DEMO)
	$(B)/earsight eval --data assets/examples/labels.csv --png $(DEMO)/roc.png
	$(B)/earsight plot $(BIRD) --wave -o $(DEMO)/blackbird.png
	$(B)/earsight saliency --input $(BIRD) --method guided -o $(DEMO)/guided.npy --png $(DEMO)/guided.png
	$(B)/earsight saliency --input $(BIRD) --method gradcam --layout quad -o $(DEMO)/gradcam.npy \
	  --png $(DEMO)/gradcam-quad.png
	$(B)/earsight sonify --input $(BIRD) --keep 0.2 -o $(DEMO)/blackbird-heard.wav
	$(B)/earsight maps --input assets/examples/animals__birds__duck.ogg --window 1 --sort \
	  -o $(DEMO)/duck-maps.png
	$(B)/earsight weights -o $(DEMO)/conv0-filters.png
	$(B)/earsight export -m assets/models/bird-detector.onnx --list assets/examples/labels.csv \
	  --method guided,gradcam -o $(DEMO)
	@echo "demo: pictures and sound in $(DEMO)/; the gallery:"
	@echo "$(abspath $(DEMO))/index.html"

# make install PREFIX=… (DESTDIR=… for packaging): the binary, both libraries, the public
# headers, earsight.pc, the shipped model and examples in share/earsight/ (where the installed
# binary looks: es_model_default_path), man pages and bash completion made from the option
# rows by the binary itself. make uninstall removes exactly those.
PREFIX  ?= /usr/local
HEADERS := base/es_base.h nn/es_nn.h nn/ops.def nn/onnx.h audio/es_audio.h \
           saliency/es_saliency.h viz/es_viz.h pipeline/es_pipeline.h
I_BIN   := $(DESTDIR)$(PREFIX)/bin
I_LIB   := $(DESTDIR)$(PREFIX)/lib
I_INC   := $(DESTDIR)$(PREFIX)/include/earsight
I_SHARE := $(DESTDIR)$(PREFIX)/share/earsight
I_MAN   := $(DESTDIR)$(PREFIX)/share/man/man1
I_COMP  := $(DESTDIR)$(PREFIX)/share/bash-completion/completions
install: all
	install -d $(I_BIN) $(I_LIB)/pkgconfig $(I_INC) $(I_SHARE)/models $(I_SHARE)/examples \
	  $(I_MAN) $(I_COMP)
	install -m 755 $(B)/earsight $(I_BIN)/earsight
	install -m 644 $(B)/libearsight.a $(I_LIB)/libearsight.a
	install -m 755 $(B)/libearsight.so $(I_LIB)/libearsight.so.$(VERSION)
	ln -sf libearsight.so.$(VERSION) $(I_LIB)/libearsight.so.$(SOVER)
	ln -sf libearsight.so.$(SOVER) $(I_LIB)/libearsight.so
	for h in $(HEADERS); do install -D -m 644 $$h $(I_INC)/$$h || exit 1; done
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' -e 's|@REQUIRES@|$(PKGS)|g' \
	  -e 's|@LIBS@|$(BLAS_LIBS) -lm $(OMP)|g' earsight.pc.in >$(I_LIB)/pkgconfig/earsight.pc
	install -m 644 assets/models/bird-detector.onnx $(I_SHARE)/models/
	install -m 644 assets/examples/* assets/LICENSE.clips $(I_SHARE)/examples/
	$(B)/earsight help --man >$(I_MAN)/earsight.1
	for v in $$($(B)/earsight help --words); do [ $$v = help ] || \
	  $(B)/earsight help --man $$v >$(I_MAN)/earsight-$$v.1 || exit 1; done
	$(B)/earsight completion bash >$(I_COMP)/earsight

uninstall:
	rm -f $(I_BIN)/earsight $(I_LIB)/libearsight.a $(I_LIB)/libearsight.so \
	  $(I_LIB)/libearsight.so.$(SOVER) $(I_LIB)/libearsight.so.$(VERSION) \
	  $(I_LIB)/pkgconfig/earsight.pc $(I_MAN)/earsight.1 $(I_MAN)/earsight-*.1 $(I_COMP)/earsight
	rm -rf $(I_INC) $(I_SHARE)

# libFuzzer targets (fuzz/fuzz_NAME.c) on the library built by clang with ASan + UBSan in
# build-fuzz/ (clang's OpenMP, libomp, which also serves OpenBLAS's GOMP calls).
# `make fuzz FUZZ_SECONDS=N` runs each for N seconds from its committed seeds (fuzz/run.sh).
FUZZ_SECONDS ?= 10
FUZZ_SAN := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
fuzz:
	$(MAKE) B=build-fuzz CC=clang OPT="$(FUZZ_SAN) -fsanitize=fuzzer-no-link" fuzz-run
FUZZ_SRC := $(sort $(wildcard fuzz/fuzz_*.c))
fuzz-run: $(FUZZ_SRC:fuzz/%.c=$(B)/fuzz/%)
	@fuzz/run.sh $(B) $(FUZZ_SECONDS)
# Targets of app code link those objects too, built with the same flags in $(B).
FUZZ_APP_OBJ := $(B)/obj/apps/opt.o $(B)/obj/apps/cli.o
$(B)/fuzz/fuzz_opt: $(FUZZ_APP_OBJ)
$(B)/fuzz/%: fuzz/%.c fuzz/fuzz.h $(B)/libearsight.a
	@mkdir -p $(B)/fuzz
	$(CC) $(CFLAGS) -fsanitize=fuzzer $< $(filter %.o,$^) $(B)/libearsight.a -o $@ $(LDLIBS)

clean:
	rm -rf build build-asan build-fuzz build-vg

.PHONY: all test run-tests deps valgrind run-valgrind asan bench clean model model-scratch model-check demo install uninstall fuzz fuzz-run
.SECONDARY:
-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
