#!/usr/bin/env bash
# Builds Traefik from the Go module proxy into $(go env GOPATH)/bin/traefik (skipped when that
# version is already there). `go install github.com/traefik/traefik/v3/cmd/traefik@…` refuses the
# module's replace directives, and the proxy refuses (403) a few modules Traefik needs, so the
# module source is built with local stand-ins:
#  - github.com/traefik/traefik/dynamic/ext: Traefik's nested module, missing from its zip;
#  - github.com/containous/go-http-auth: Traefik's fork of abbot/go-http-auth; upstream v0.4.0
#    plus the two functions the fork adds (traefik/go-http-auth.go);
#  - lego v5 without the ACME DNS providers whose SDKs are refused (DNS-01 challenges through
#    those providers are the only thing missing; this chat's tests use none).
# The web dashboard's assets are not in the module either: API and ping work, the UI does not.
set -euo pipefail
TRAEFIK_VERSION="${TRAEFIK_VERSION:-v3.7.13}"
here="$(cd "$(dirname "$0")" && pwd)"
gobin="$(go env GOPATH)/bin"
target="$gobin/traefik"
if "$target" version 2>/dev/null | grep -q "${TRAEFIK_VERSION#v}"; then exit 0; fi

# lego DNS providers whose SDK modules the proxy refuses, and the refused modules that lego's and
# Traefik's go.mod list (the others' go.mod files are served, only their zips are refused).
refused_providers=(
  alidns aliesa azion baiducloud dnsimple edgedns edgeone huaweicloud oraclecloud regfish
  sakuracloud tencentcloud ucloud yandexcloud
)
refused_modules=(
  github.com/nrdcg/oci-go-sdk/common/v1065 github.com/nrdcg/oci-go-sdk/dns/v1065
  github.com/sacloud/sacloud-sdk-go github.com/ucloud/ucloud-sdk-go
  github.com/yandex-cloud/go-sdk/services/dns
)

module_dir() { go mod download -json "$1" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p'; }
work="$(mktemp -d)"
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT

cp -r "$(module_dir "github.com/traefik/traefik/v3@$TRAEFIK_VERSION")/." "$work/traefik"
chmod -R u+w "$work/traefik"
cd "$work/traefik"
lego_version="$(go mod edit -json | sed -n '/"Path": "github.com\/go-acme\/lego\/v5"/{n;s/.*"Version": "\(.*\)".*/\1/p}')"

mkdir -p "$work/ext"
cp "$here/traefik/dynamic-ext.go" "$work/ext/ext.go"
printf 'module github.com/traefik/traefik/dynamic/ext\n\ngo 1.24\n' > "$work/ext/go.mod"

mkdir -p "$work/go-http-auth"
cp "$(module_dir github.com/abbot/go-http-auth@v0.4.0)"/*.go "$work/go-http-auth/"
chmod u+w "$work/go-http-auth"/*
rm "$work/go-http-auth"/*_test.go
cp "$here/traefik/go-http-auth.go" "$work/go-http-auth/traefik_fork.go"
printf 'module github.com/abbot/go-http-auth\n\ngo 1.24\n' > "$work/go-http-auth/go.mod"

cp -r "$(module_dir "github.com/go-acme/lego/v5@$lego_version")/." "$work/lego"
chmod -R u+w "$work/lego"
switch="$work/lego/providers/dns/zz_gen_dns_providers.go"
for provider in "${refused_providers[@]}"; do
  rm -rf "$work/lego/providers/dns/$provider"
  # Its import line, and its `case` with the `return` line after it.
  sed -i -e "\#\"github.com/go-acme/lego/v5/providers/dns/$provider\"#d" \
    -e "/^\tcase \"$provider\"/,+1d" "$switch"
done
drop=()
for module in "${refused_modules[@]}"; do drop+=("-droprequire=$module"); done
(cd "$work/lego" && go mod edit "${drop[@]}")

go mod edit "${drop[@]}" \
  -replace "github.com/traefik/traefik/dynamic/ext=$work/ext" \
  -replace "github.com/abbot/go-http-auth=$work/go-http-auth" \
  -replace "github.com/go-acme/lego/v5=$work/lego"
mkdir -p "$gobin"
GOWORK=off GOFLAGS=-mod=mod go build -trimpath \
  -ldflags "-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=${TRAEFIK_VERSION#v}" \
  -o "$target" ./cmd/traefik
