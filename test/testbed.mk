# The test bed's binaries: etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler and kwok, built from the Go modules pinned under test/tools
# (DESIGN.md, "The test bed"), plus kwok's Stage manifests, into test/bin/.
#
# Included from the Makefile (`include test/testbed.mk`) or run on its own
# (`make -f test/testbed.mk testbed`). Targets:
#   testbed        build whatever is missing or whose pinned version changed
#   testbed-clean  remove test/bin/
#
# Two modules (test/tools/README.md): test/tools pins kubernetes and kwok,
# which share the Kubernetes libraries and so most of their compile; etcd has
# its own, test/tools/etcd, because k8s.io/kubernetes requires
# go.etcd.io/etcd/server/v3 v3.7.0 and minimal version selection would build
# that instead of the 3.6 we pin.

# The directory of this file, whichever Makefile includes it. Evaluated
# before any other include can change MAKEFILE_LIST.
TESTBED_DIR   := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
# The including Makefile's default goal, restored at the end of this file so
# that `make` alone does the same wherever the include line sits.
TESTBED_INCLUDED     := $(filter-out 1,$(words $(MAKEFILE_LIST)))
TESTBED_DEFAULT_GOAL := $(.DEFAULT_GOAL)
TESTBED_TOOLS := $(abspath $(TESTBED_DIR)/tools)
TESTBED_BIN   := $(abspath $(TESTBED_DIR)/bin)
GO            ?= go

# Static binaries as the upstream release builds make them (CGO_ENABLED=0),
# without local paths or this repository's VCS state baked in, so a binary
# depends only on the pinned modules and the Go version.
TESTBED_GOENV := CGO_ENABLED=0 GOFLAGS='-trimpath -buildvcs=false'

# Upstream's hack/lib/version.sh stamps the version into component-base; an
# unstamped build reports v0.0.0-master, which clients (kwok, client-go's
# discovery, our tests) read from /version. Taken from go.mod, so it follows a
# bump. Recursive (=) so that merely including this file runs no `go list`.
TESTBED_KUBE_VERSION = $(shell $(GO) -C $(TESTBED_TOOLS) list -m -f '{{.Version}}' k8s.io/kubernetes)
TESTBED_KUBE_LDFLAGS = -s -w \
	$(foreach p,k8s.io/component-base/version k8s.io/client-go/pkg/version,\
	-X $(p).gitVersion=$(TESTBED_KUBE_VERSION) -X $(p).gitTreeState=clean \
	-X $(p).gitMajor=$(word 1,$(subst ., ,$(patsubst v%,%,$(TESTBED_KUBE_VERSION)))) \
	-X $(p).gitMinor=$(word 2,$(subst ., ,$(TESTBED_KUBE_VERSION))))

TESTBED_TOOLS_BINS := $(addprefix $(TESTBED_BIN)/,kube-apiserver kube-controller-manager kube-scheduler kwok)
TESTBED_TOOLS_PKGS := $(addprefix k8s.io/kubernetes/cmd/,kube-apiserver kube-controller-manager kube-scheduler) \
	sigs.k8s.io/kwok/cmd/kwok

# kwok's Stage manifests (node/fast, node/heartbeat, pod/fast), copied at build
# time from the pinned kwok module, so test/bin (or CLUSTERDNS_TESTBIN) is all
# the harness needs: no go command or module cache at test time.
TESTBED_KWOK_STAGES := $(TESTBED_BIN)/kwok-stages

.PHONY: testbed testbed-clean testbed-always

testbed: $(TESTBED_TOOLS_BINS) $(TESTBED_BIN)/etcd $(TESTBED_KWOK_STAGES)/.done

testbed-clean:
	rm -rf $(TESTBED_BIN)

# Stamps, one per module: a hash of what pins its binaries (go.mod, go.sum,
# the Go version, the link flags). The stamp's recipe always runs but rewrites
# the file only when the hash differs, so the binaries behind it are rebuilt
# only when their pinned versions change (or when they are missing). A
# rebuild whose packages did not change is mostly a link from Go's cache.
define testbed_stamp
	@mkdir -p $(@D)
	@{ cat $(1)/go.mod $(1)/go.sum; $(GO) env GOVERSION; echo '$(2)'; } | sha256sum > $@.new
	@if cmp -s $@.new $@; then rm -f $@.new; else mv $@.new $@; echo "testbed: $(notdir $@) changed"; fi
endef

$(TESTBED_BIN)/.stamp-tools: testbed-always
	$(call testbed_stamp,$(TESTBED_TOOLS),$(TESTBED_KUBE_LDFLAGS))

$(TESTBED_BIN)/.stamp-etcd: testbed-always
	$(call testbed_stamp,$(TESTBED_TOOLS)/etcd,)

# One `go build` for the four commands: they share most packages, and one
# build schedules them all over both cores. The version stamp is harmless in
# kwok (it links component-base too; its own version comes from the module).
$(TESTBED_TOOLS_BINS) &: $(TESTBED_BIN)/.stamp-tools
	cd $(TESTBED_TOOLS) && $(TESTBED_GOENV) $(GO) build -ldflags '$(TESTBED_KUBE_LDFLAGS)' -o $(TESTBED_BIN)/ $(TESTBED_TOOLS_PKGS)
	@touch $(TESTBED_TOOLS_BINS)

# etcd's main package is the root of go.etcd.io/etcd/server/v3, whose default
# binary name would be "v3": name it explicitly.
$(TESTBED_BIN)/etcd: $(TESTBED_BIN)/.stamp-etcd
	cd $(TESTBED_TOOLS)/etcd && $(TESTBED_GOENV) $(GO) build -ldflags '-s -w' -o $@ go.etcd.io/etcd/server/v3
	@touch $@

# Module cache files are read-only: install(1) gives the copies mode 0644 so
# the next copy can overwrite them.
$(TESTBED_KWOK_STAGES)/.done: $(TESTBED_BIN)/.stamp-tools
	@set -e; src=$$(cd $(TESTBED_TOOLS) && $(GO) list -m -f '{{.Dir}}' sigs.k8s.io/kwok)/kustomize/stage; \
	rm -rf $(TESTBED_KWOK_STAGES); mkdir -p $(TESTBED_KWOK_STAGES); \
	for s in node/fast node/heartbeat pod/fast; do \
		for f in $$src/$$s/*.yaml; do \
			case $$(basename $$f) in kustomization.yaml) continue;; esac; \
			install -m 0644 $$f $(TESTBED_KWOK_STAGES)/$$(echo $$s | tr / -)-$$(basename $$f); \
		done; \
	done; \
	touch $@; echo "testbed: kwok stages in $(TESTBED_KWOK_STAGES)"

ifneq ($(TESTBED_INCLUDED),)
.DEFAULT_GOAL := $(TESTBED_DEFAULT_GOAL)
endif
