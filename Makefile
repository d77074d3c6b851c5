# rtmesh — two commands: `make run` (build optimised, start a local mesh) and
# `make test` (build with sanitizers, run unit, integration, e2e and browser suites).
RELEASE := build/release
DEBUG   := build/debug
JOBS    := $(shell nproc)

.PHONY: run test fuzz soak image-test bench build build-debug deps deps-browser format check-format clean

deps:
	@scripts/deps.sh --with-node

# Chromium for the demo's browser tests: only `make test` needs it.
deps-browser:
	@scripts/deps.sh --with-node --with-browser

# Says nothing when there is nothing to build: no "Built target" line per target, and no
# "Entering directory" lines (cmake's make would see itself as our sub-make).
build: deps
	@cmake -S . -B $(RELEASE) -DCMAKE_BUILD_TYPE=Release -DRTM_WERROR=OFF -DCMAKE_TARGET_MESSAGES=OFF >/dev/null
	@unset MAKELEVEL; cmake --build $(RELEASE) -j$(JOBS) --target rtmesh-broker rtmesh-node rtmesh-cli

# The terminal shows the processes' warnings and errors; LOG=info shows every line of their
# logs (in $(RELEASE)/logs/), LOG=debug also has them log at debug, LOG=error only errors.
run: build
	@RTMESH_RUN_TLS=$(TLS) scripts/run-mesh.sh $(RELEASE) $(LOG)

build-debug: deps
	cmake -S . -B $(DEBUG) -DCMAKE_BUILD_TYPE=Debug -DRTM_SANITIZE=ON >/dev/null
	cmake --build $(DEBUG) -j$(JOBS)

# ctest shows a passing test's output nowhere: the soaks' seeds are printed from its log.
test: deps-browser build-debug check-format
	cd $(DEBUG) && ctest --output-on-failure
	@grep -h 'soak seed=' $(DEBUG)/Testing/Temporary/LastTest.log || true

# Every fuzz target for real: clang + libFuzzer under ASan+UBSan, FUZZ_SECONDS each (default
# 60), two at a time; CI runs it after make test (.ci/run).
fuzz:
	@scripts/deps.sh --with-fuzz
	tests/fuzz/run.sh build/fuzz $(or $(FUZZ_SECONDS),60)

# The randomized fault soak (docs/soak.md): 3 brokers and 3 nodes in network namespaces under
# load while a seeded schedule kills, stops and partitions them; SOAK_MINUTES (default 20),
# SOAK_SEED (default: a random one, printed). Needs root.
soak: build-debug
	SOAK_MINUTES=$(or $(SOAK_MINUTES),20) SOAK_SEED=$(SOAK_SEED) tests/run-node-suite.sh soak \
	  $(DEBUG)/broker/rtmesh-broker $(DEBUG)/node/rtmesh-node

# The container image for real (deploy/ci-image.sh): build it with podman from a Debian base
# made with mmdebstrap, run a broker and a node from it, serve pusher-js clients. CI runs it.
image-test: deps
	deploy/ci-image.sh

# Side-by-side benchmark against soketi 1.6.1: records in bench/records/, rendered into
# bench/RESULTS.md; each scenario behind a verdict runs 3 times (BENCH_RUNS).
bench: deps
	bench/deps.sh
	cmake -S . -B $(RELEASE) -DCMAKE_BUILD_TYPE=Release -DRTM_WERROR=OFF >/dev/null
	cmake --build $(RELEASE) -j$(JOBS) --target rtmesh-broker rtmesh-node rtmesh-loadgen \
		rtmesh-hopcost
	bench/run.sh $(RELEASE)
	bench/report.py bench/records bench/RESULTS.md

SOURCES = $(shell git ls-files '*.c' '*.h')
format:
	clang-format -i $(SOURCES)

check-format:
	clang-format --dry-run --Werror $(SOURCES)

clean:
	rm -rf build
