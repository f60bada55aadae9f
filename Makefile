# Floodgate. `make demo` runs a single node with a demo drop; `make test` runs
# every test (it installs what the tests need on a Debian machine first).
GO ?= go
BIN := bin/floodgate

.PHONY: all build demo test test-short lint bench rush soak clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/floodgate

# The demo's admin token (for /admin and the admin API) is demo-admin-token
# unless FLOODGATE_ADMIN_TOKEN is set; it goes through the environment, not
# the command line, where every user of the machine could read it.
demo: build
	FLOODGATE_ADMIN_TOKEN=$${FLOODGATE_ADMIN_TOKEN:-demo-admin-token} $(BIN) serve --demo --dev --data-dir $${DATA_DIR:-./data} --http-addr $${HTTP_ADDR:-127.0.0.1:8080}

test:
	./scripts/test.sh

test-short:
	$(GO) test -short ./...

lint:
	./scripts/lint.sh

bench:
	./bench/run.sh

rush: build
	$(BIN) rush --demo --report rush-report.html

soak:
	FLOODGATE_SOAK=1 $(GO) test -race -run Soak -timeout 60m ./...

clean:
	rm -rf bin data rush-report.html
