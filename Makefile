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
	./plugin/clusterdns/snapshot:FuzzSnapshot \
	./plugin/clusterdns/source/api:FuzzPodFrame

export CLUSTERDNS_BIN := $(BIN)/clusterdns
# The image `make image` writes and test/podrun runs under runc.
export CLUSTERDNS_IMAGE := $(BIN)/clusterdns-image.tar
# The image reference recorded in it: the one deploy/base/deployment.yaml
# names (test/podrun fails when they differ). A version, never :latest.
IMAGE ?= ghcr.io/clusterdns/clusterdns:v0.1.0

# The test bed: etcd, kube-apiserver, controller-manager, scheduler and kwok
# built from pinned Go modules into test/bin (target testbed).
include test/testbed.mk

.PHONY: build run test unit fuzz-short fuzz lint clean image bench soak relist prereqs prereqs-run

# make bench: clusterdns against stock CoreDNS on the test bed
# (test/bench/README.md). BENCH_SIZES picks sizes (1k, 10k, scale);
# the report lands in test/bench/reports/<start time>/.
BENCH_SIZES ?= 1k,10k,scale
STOCK_COREDNS := $(CURDIR)/test/bin/coredns
# The differential test (test/differential) compares clusterdns with it.
export CLUSTERDNS_COREDNS := $(STOCK_COREDNS)

# The first build compiles CoreDNS, its plugins and client-go from scratch
# and prints nothing while it does: say so, and for how long.
build:
	@echo "go build ./cmd/clusterdns -> bin/clusterdns (a first build compiles CoreDNS and client-go: about 5 minutes on 2 cores; then seconds)"
	$(GO) build -o $(BIN)/clusterdns ./cmd/clusterdns

# Tools checked (and, as root, installed) before anything is built:
# .ci/prereqs holds the one list, which .ci/run uses too.
prereqs:
	@./.ci/prereqs test
prereqs-run:
	@./.ci/prereqs run

# The container image without a container engine: a static binary on an
# empty base, as bin/clusterdns-image.tar (docker save format).
# It prints the image's digest, for kustomize's images: (README).
image:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o $(BIN)/clusterdns-static ./cmd/clusterdns
	$(GO) run ./cmd/clusterdns-image -binary $(BIN)/clusterdns-static -out $(CLUSTERDNS_IMAGE) -tag $(IMAGE)

# The demo: a cluster from corefiles/demo-cluster.yaml on 127.0.0.1:1053.
run: prereqs-run build
	$(BIN)/clusterdns -conf corefiles/demo.Corefile

test: prereqs build image testbed $(STOCK_COREDNS) unit fuzz-short

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

# make relist: clusterdns with 10k Services answers only NOERROR, losing
# nothing, under query load while the API server restarts and every
# informer lists again (test/bench/relist_test.go).
relist: build testbed $(STOCK_COREDNS)
	@command -v dnsperf >/dev/null || { echo "make relist needs dnsperf: apt-get install dnsperf"; exit 1; }
	cd test/bench && $(GO) test -run '^$$' -bench '^BenchmarkRelistAnswers$$' -benchtime 1x -timeout 30m -v . \
		-args -clusterdns=$(CLUSTERDNS_BIN) -coredns=$(STOCK_COREDNS)

clean: testbed-clean
	rm -rf $(BIN)
