# The two commands that matter: `make demo` (set up, then one verified crash cycle in a QEMU
# guest running Debian's stock kernel) and `make test`. Both install what they need on a fresh
# Debian 12 machine (as root).
SHELL := /bin/bash
NPM_STAMP := node_modules/.install-stamp

.PHONY: setup deps system-deps build kernels test test-unit bench faults demo demo-extract clean

# The custom kernels the matrix and selftest tests boot (test/helpers/ci-kernels.ts names the
# same fragments). Built once, cached under ~/.cache/ramoops-harness/kernel-builds.
CI_KERNEL_CONFIG := base,pstore-full,lkdtm,smp,kaslr,selftests

setup: system-deps deps build

system-deps:
	@bash scripts/install-system-deps.sh

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

deps: $(NPM_STAMP)

# The native search addon is optional (scan falls back to worker threads); built when missing.
build: deps
	npx tsc -p tsconfig.json
	@node scripts/build-native.mjs --if-missing

kernels: setup
	node dist/harness/cli/main.js kernel build --source debian-6.1 --config $(CI_KERNEL_CONFIG) --nice 0
	node dist/harness/cli/main.js kernel build --source debian-6.12 --config $(CI_KERNEL_CONFIG) --nice 0

# Everything: unit, fixture, property and integration tests (real QEMU guests, the crash
# matrix on the two custom kernels, the kernel's pstore selftests).
test: setup kernels
	node scripts/run-tests.mjs

# Only the pure-core tests (no QEMU), for quick iteration.
test-unit: deps build
	RAMOOPS_SKIP_INTEGRATION=1 node scripts/run-tests.mjs 'dist/test/**/*.test.js'

bench: setup
	node dist/test/bench/run.js

# The fault-injection suite's long version (tools/faults): every fault in every phase of
# `ramoops run` where it applies, 3 rounds (52 cells, 156 faulted runs), then the table and the totals.
# Root (tmpfs mounts, other processes' sockets). FAULTS_ARGS narrows it, e.g.
# FAULTS_ARGS='--faults sigint,qemu-kill --phases crash,capture --repeat 1'.
faults: setup
	node dist/tools/faults/main.js $(FAULTS_ARGS)

# Boot, crash, read guest RAM, warm-reboot, compare with the guest's /sys/fs/pstore; prints
# the verdict, exits 0 only when every file matched (artifacts in out/demo).
demo: setup
	node dist/harness/cli/main.js run --out out/demo

# No QEMU: extract a bundled real capture.
demo-extract: setup
	node dist/harness/cli/main.js extract test/fixtures/c61-full-deflate/region.bin \
	  --base 0x8000000 --cmdline "$$(sed -n 2p test/fixtures/c61-full-deflate/guest-info.txt)" \
	  --kernel-version 6.1.192 --system-map test/fixtures/c61-full-deflate/System.map \
	  --out out/demo-extract --force

clean:
	rm -rf dist out
