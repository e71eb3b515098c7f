# The two commands a new user needs: `make demo` and `make check`.
BUILD ?= build
JOBS ?= $(shell nproc)
DASH_OPT = $(BUILD)/bin/dash-opt
DASH_RUN = $(BUILD)/bin/dash-run

ASAN_BUILD ?= build-asan
FUZZ_SECONDS ?= 60

.PHONY: all deps build check demo clean check-asan fuzz

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/build.ninja: | deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j$(JOBS)

check: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

# Every test again with Dash built with AddressSanitizer and UBSan.
check-asan: deps
	ASAN_BUILD=$(ASAN_BUILD) JOBS=$(JOBS) scripts/check-asan.sh

# libFuzzer over parse, verify and the dash passes for FUZZ_SECONDS (clang).
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) JOBS=$(JOBS) scripts/fuzz.sh

demo: build
	@echo "== dash-opt: dash.attention decomposed into the stage ops (first lines) =="
	@$(DASH_OPT) examples/attention.mlir --dash-decompose | head -n 12
	@echo "== dash-run: examples/attention.mlir compiled for the CPU, run, checked against the oracle =="
	$(DASH_RUN) examples/attention.mlir --repeat 3

clean:
	rm -rf $(BUILD)
