# jlstore: see README.md.
GO ?= go
FUZZTIME ?= 60s
PYTHON ?= $(shell for p in /usr/bin/python3 python3; do $$p -c 'import numpy, joblib' 2>/dev/null && { echo $$p; break; }; done)

.PHONY: all build demo test vet race fuzz bench testdata clean

all: build

build:
	$(GO) build ./...

demo:
	$(GO) run ./cmd/jlstore demo

vet:
	$(GO) vet ./...

test: vet
	$(GO) test -race -count=1 -timeout 20m ./...
	# Memory figures mean nothing under the race detector: run those tests again without it.
	$(GO) test -count=1 -run 'PeakRSS' ./store/
	# The bz2 and xz decoders of libbz2 and liblzma (-tags jlstore_cgo), against the same tests;
	# skipped outside CI where the C headers are missing (.ci/run installs them).
	@if [ -n "$$CI" ] || printf '#include <lzma.h>\n#include <bzlib.h>\n' | $${CC:-cc} -E - >/dev/null 2>&1; then \
		echo "$(GO) test -tags jlstore_cgo -count=1 ./compressors/ ./store/"; \
		$(GO) test -tags jlstore_cgo -count=1 ./compressors/ ./store/; \
	else \
		echo "skipping the jlstore_cgo tests: no C compiler or no liblzma-dev/libbz2-dev headers"; \
	fi

# Run each fuzz target for FUZZTIME (default 60s).
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "fuzz $$pkg $$f"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done

# The benchmark suite (bench/, its own module): jlstore against Python's
# joblib and numpy, the Go peers and the machine's limits, each in fresh
# processes; writes bench/RESULTS.md, results.json, results.txt and plots/.
# BENCHFLAGS=-full adds 1 GiB and 4 GiB; see bench/README.md. The
# packages' own benchmarks: go test -run '^$$' -bench . ./store/ (etc.).
bench:
	cd bench && $(GO) run ./cmd/jlbench $(BENCHFLAGS)

# Regenerate the fixtures with real Python joblib and numpy.
testdata:
	@test -n "$(PYTHON)" || { echo "no python3 with numpy and joblib"; exit 1; }
	$(PYTHON) testdata/gen.py testdata

clean:
	$(GO) clean -testcache
