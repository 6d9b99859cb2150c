#!/usr/bin/env bash
# kubeconform, the offline Kubernetes manifest validator, into $(go env GOPATH)/bin (skipped when
# that version is there). It is given schemas made from the k8s.io/kubernetes module and the CRDs
# (test/deploy/kube-schemas.ts), so it never downloads any.
set -euo pipefail
KUBECONFORM_VERSION="${KUBECONFORM_VERSION:-v0.8.0}"
gobin="$(go env GOPATH)/bin"
if "$gobin/kubeconform" -v 2>/dev/null | grep -q "${KUBECONFORM_VERSION#v}"; then exit 0; fi
GOBIN="$gobin" go install -ldflags "-X main.version=${KUBECONFORM_VERSION#v}" "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION"
