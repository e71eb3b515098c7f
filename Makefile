# The two commands a new user needs: `make demo` and `make check`.
BUILD ?= build
JOBS ?= $(shell nproc)
DASH_OPT = $(BUILD)/bin/dash-opt

.PHONY: all deps build check demo clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/build.ninja: | deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j$(JOBS)

check: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

demo: build
	@echo "== dash.attention as written (examples/attention.mlir) =="
	@cat examples/attention.mlir
	@echo "== after dash-opt --dash-decompose =="
	$(DASH_OPT) examples/attention.mlir --dash-decompose

clean:
	rm -rf $(BUILD)
