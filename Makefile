# clusterdns: `make run` starts the demo, `make test` runs every test.
GO          ?= go
BIN         := $(CURDIR)/bin
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Fuzz targets and how long `make test` runs each (`make fuzz` runs longer).
FUZZTIME    ?= 10s
# Minimizing a new input can take the whole of a short run (FuzzDecode's YAML
# inputs sat at 0 execs/s for 25 s): the short runs skip it, `make fuzz`
# minimizes for up to a minute.
FUZZMINIMIZE ?= 0
FUZZ_TARGETS := \
	./plugin/clusterdns/resolver:FuzzResolve \
	./plugin/clusterdns:FuzzServeDNS \
	./plugin/clusterdns:FuzzSearchPath \
	./plugin/clusterdns:FuzzParse \
	./plugin/clusterdns/source/file:FuzzDecode \
	./plugin/clusterdns/snapshot:FuzzSnapshot

export CLUSTERDNS_BIN := $(BIN)/clusterdns

# The test bed: etcd, kube-apiserver, controller-manager, scheduler and kwok
# built from pinned Go modules into test/bin (target testbed).
include test/testbed.mk

.PHONY: build run test unit fuzz-short fuzz lint clean image bench soak

# make bench: clusterdns against stock CoreDNS on the test bed
# (test/bench/README.md). BENCH_SIZES picks sizes (1k, 10k, scale);
# the report lands in test/bench/reports/<start time>/.
BENCH_SIZES ?= 1k,10k,scale
STOCK_COREDNS := $(CURDIR)/test/bin/coredns
# The differential test (test/differential) compares clusterdns with it.
export CLUSTERDNS_COREDNS := $(STOCK_COREDNS)

build:
	$(GO) build -o $(BIN)/clusterdns ./cmd/clusterdns

# The container image without a container engine: a static binary on an
# empty base, as bin/clusterdns-image.tar (docker save format).
image:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o $(BIN)/clusterdns-static ./cmd/clusterdns
	$(GO) run ./cmd/clusterdns-image -binary $(BIN)/clusterdns-static -out $(BIN)/clusterdns-image.tar

# The demo: a cluster from corefiles/demo-cluster.yaml on 127.0.0.1:1053.
run: build
	$(BIN)/clusterdns -conf corefiles/demo.Corefile

test: build testbed $(STOCK_COREDNS) unit fuzz-short

unit:
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...
	$(GO) -C test/bench vet .
	$(GO) -C test/bench test -count=1 .

fuzz-short:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz $$pkg $$fn for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) $$pkg || exit 1; \
	done

fuzz:
	$(MAKE) fuzz-short FUZZTIME=5m FUZZMINIMIZE=60s

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	GOBIN=$(BIN) $(GO) install $(STATICCHECK)
	$(BIN)/staticcheck ./...
	$(GO) -C test/bench vet .
	cd test/bench && $(BIN)/staticcheck .

# Stock CoreDNS, every plugin, from the version test/bench/go.mod pins (a
# `tool` there, so production's go.mod stays lean); go build relinks from
# its cache when nothing changed.
$(STOCK_COREDNS): testbed-always
	$(GO) -C test/bench build -o $@ github.com/coredns/coredns

bench: build testbed $(STOCK_COREDNS)
	@command -v dnsperf >/dev/null || { echo "make bench needs dnsperf: apt-get install dnsperf"; exit 1; }
	cd test/bench && $(GO) test -run '^$$' -bench '^BenchmarkServers$$' -benchtime 1x -timeout 3h -v . \
		-args -sizes=$(BENCH_SIZES) -clusterdns=$(CLUSTERDNS_BIN) -coredns=$(STOCK_COREDNS)

# make soak: clusterdns under dnsperf at full speed for SOAK (default 60s),
# failing on a lost query, a SERVFAIL or a goroutine leak; RSS drift is
# reported (test/bench/soak_test.go).
SOAK ?= 60s
soak: build testbed $(STOCK_COREDNS)
	@command -v dnsperf >/dev/null || { echo "make soak needs dnsperf: apt-get install dnsperf"; exit 1; }
	cd test/bench && $(GO) test -run '^$$' -bench '^BenchmarkSoak$$' -benchtime 1x -timeout 30m -v . \
		-args -soak=$(SOAK) -clusterdns=$(CLUSTERDNS_BIN) -coredns=$(STOCK_COREDNS)

clean: testbed-clean
	rm -rf $(BIN)
