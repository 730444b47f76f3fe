# sotto — build and test entry points.
#   make test    fmt + vet + staticcheck, then the full race-enabled test suite
#                against a throwaway PostgreSQL 15 and headless Chromium
#   make check   fmt + vet + staticcheck only
#   make build   build bin/sotto
#   make bench   load benchmark against a fresh server (SQLite; DB=postgres for PostgreSQL;
#                SCENARIO="small medium large" picks scenarios, see scripts/bench.sh)
# Extra `go test` flags: make test GOTESTFLAGS='-run TestFoo -v'

# Fall back to the toolchain in /usr/local/go when go is not already on PATH.
export PATH := $(PATH):/usr/local/go/bin

GO          ?= go
GOTESTFLAGS ?=

# Steps must run in the listed order, even under make -j.
.NOTPARALLEL:

.PHONY: test check fmt vet staticcheck build bench

DB ?= sqlite

test: check
	@echo "==> go test -race (scripts/test-env.sh: throwaway PostgreSQL 15 + Chromium)"
	bash scripts/test-env.sh bash -c '$(GO) test -race -count=1 -timeout 25m $(GOTESTFLAGS) ./... && \
		echo "==> the store suite on both databases (shown, not skipped):" && \
		out=$$($(GO) test -count=1 -v -run "^TestMigrateIsIdempotentAndCurrent$$" ./internal/store/ | grep -E -- "--- (PASS|FAIL|SKIP)") ; \
		echo "$$out" && echo "$$out" | grep -q -- "--- PASS: TestMigrateIsIdempotentAndCurrent/postgres"' 

check: fmt vet staticcheck

fmt:
	@echo "==> gofmt -l ."
	@files="$$(gofmt -l .)"; \
	if [ -n "$$files" ]; then \
		echo "These files are not gofmt-formatted (run 'gofmt -w' on them):"; \
		echo "$$files"; \
		exit 1; \
	fi

vet:
	@echo "==> go vet ./..."
	$(GO) vet ./...

staticcheck:
	@echo "==> go tool staticcheck ./..."
	$(GO) tool staticcheck ./...

build:
	@echo "==> go build -o bin/sotto ./cmd/sotto"
	$(GO) build -o bin/sotto ./cmd/sotto

bench:
	@echo "==> scripts/bench.sh $(DB)"
	bash scripts/bench.sh $(DB)
