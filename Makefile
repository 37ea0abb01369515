# Herd. `make` builds bin/herd and bin/herdctl; `make test` runs every test.
KUBE_VERSION := $(shell awk '$$1=="k8s.io/kubernetes"{print $$2; exit}' hack/kube/go.mod)
KUBE_BIN     := $(CURDIR)/_output/kube/$(KUBE_VERSION)
GO           ?= go
# Test packages run in parallel only as far as 2 cores allow.
TEST_P       ?= 2
# The version `make image` stamps into the binaries and tags the images with.
VERSION      ?= dev
IMAGE_LDFLAGS := -s -w -X herd.dev/herd/internal/version.Version=$(VERSION)

.PHONY: all build kube deps test bench generate vet clean demo image

all: build

build:
	$(GO) build -o bin/ ./cmd/herd ./cmd/herdctl

kube:
	hack/build-kube.sh

vet:
	$(GO) vet ./...

# Debian packages the tests need (skopeo; containerd, runc and CNI plugins
# for local real nodes); installs only what is missing.
deps:
	hack/install-deps.sh

test: deps kube build vet
	HERD_KUBE_BIN_DIR=$(KUBE_BIN) $(GO) test -p $(TEST_P) -count=1 -timeout 30m ./...

# Local clusters are slow to make, so their benchmark runs 3 times; the rest
# run for the default second each. hack/bench-table.sh prints the table.
bench: kube build
	mkdir -p _output
	{ HERD_KUBE_BIN_DIR=$(KUBE_BIN) $(GO) test -run '^$$' -bench 'LocalClusterCreate' -benchtime 3x -count=1 -timeout 30m ./cmd/herd && \
	  HERD_KUBE_BIN_DIR=$(KUBE_BIN) $(GO) test -p 1 -run '^$$' -bench . -skip 'LocalClusterCreate' -count=1 -timeout 30m ./...; } | tee _output/bench.txt
	hack/bench-table.sh _output/bench.txt

# Herd's images (herd/herd and herd/pause, tagged $(VERSION)) in one archive
# for docker load, ctr images import and skopeo; see README.md.
image:
	mkdir -p _output/image
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(IMAGE_LDFLAGS)' -o _output/image/ ./cmd/herd ./cmd/herdctl ./cmd/herd-pause
	$(GO) run ./cmd/herd-image -o _output/herd-image-$(VERSION).tar -version $(VERSION) \
		-herd _output/image/herd -herdctl _output/image/herdctl -pause _output/image/herd-pause

generate:
	hack/generate.sh

demo: kube build
	hack/demo.sh

clean:
	rm -rf bin
