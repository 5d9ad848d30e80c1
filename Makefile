# The two commands that matter: `make demo` (set up, then one verified crash cycle in a QEMU
# guest running Debian's stock kernel) and `make test`. Both install what they need on a fresh
# Debian 12 machine (as root).
SHELL := /bin/bash
NPM_STAMP := node_modules/.install-stamp

.PHONY: setup deps system-deps build test test-unit bench demo demo-extract clean

setup: system-deps deps build

system-deps:
	@bash scripts/install-system-deps.sh

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

deps: $(NPM_STAMP)

build: deps
	npx tsc -p tsconfig.json

# Everything: unit, fixture, property and (when QEMU is available) integration tests.
test: setup
	node scripts/run-tests.mjs

# Only the pure-core tests (no QEMU), for quick iteration.
test-unit: deps build
	RAMOOPS_SKIP_INTEGRATION=1 node scripts/run-tests.mjs

bench: setup
	node dist/test/bench/run.js

# Boot, crash, read guest RAM, warm-reboot, compare with the guest's /sys/fs/pstore; prints
# the verdict, exits 0 only when every file matched (artifacts in out/demo).
demo: setup
	node dist/harness/cli/main.js run --out out/demo

# No QEMU: extract a bundled real capture.
demo-extract: setup
	node dist/harness/cli/main.js extract test/fixtures/c61-full-deflate/region.bin \
	  --base 0x8000000 --cmdline "$$(sed -n 2p test/fixtures/c61-full-deflate/guest-info.txt)" \
	  --kernel-version 6.1.192 --system-map test/fixtures/c61-full-deflate/System.map \
	  --out out/demo-extract

clean:
	rm -rf dist out
