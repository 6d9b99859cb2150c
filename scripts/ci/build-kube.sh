#!/usr/bin/env bash
# Builds kube-apiserver and a kubectl of the same version from the k8s.io/kubernetes module into
# $(go env GOPATH)/bin (skipped when that version is there). The module's go.mod points the
# k8s.io/* libraries at ./staging, which its zip leaves out: they are swapped for the published
# modules of the same release (v1.X.Y ↔ v0.X.Y), and GOWORK=off ignores the repository's go.work.
set -euo pipefail
KUBE_VERSION="${KUBE_VERSION:-v1.37.2}"
gobin="$(go env GOPATH)/bin"
if "$gobin/kube-apiserver" --version 2>/dev/null | grep -q "$KUBE_VERSION\$" &&
  "$gobin/kubectl" version --client 2>/dev/null | grep -q "$KUBE_VERSION\$"; then
  exit 0
fi

source_dir="$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
work="$(mktemp -d)"
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
cp -r "$source_dir/." "$work"
chmod -R u+w "$work"
cd "$work"
rm -rf vendor go.work go.work.sum
edits=()
for module in $(sed -n 's#^\t\(k8s.io/[^ ]*\) => ./staging/.*#\1#p' go.mod); do
  edits+=("-dropreplace=$module" "-require=$module@v0.${KUBE_VERSION#v1.}")
done
go mod edit "${edits[@]}"
# The version the binaries report, set as hack/lib/version.sh does.
ldflags="-s -w"
for version_pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
  ldflags+=" -X $version_pkg.gitVersion=$KUBE_VERSION -X $version_pkg.gitMajor=1"
  ldflags+=" -X $version_pkg.gitMinor=$(echo "$KUBE_VERSION" | cut -d. -f2)"
done
mkdir -p "$gobin"
GOWORK=off GOFLAGS=-mod=mod go build -trimpath -ldflags "$ldflags" -o "$gobin/" ./cmd/kube-apiserver ./cmd/kubectl
