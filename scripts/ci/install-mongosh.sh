#!/usr/bin/env bash
# mongosh, the shell the official mongo image runs mongo-init/ with, from its npm package into a
# cache folder (skipped when that version is there): test/mongo-init.test.ts runs the real script
# with it against FerretDB. Not a devDependency: ~150 MB with native optional modules that neither
# the app nor its image build needs.
set -euo pipefail
MONGOSH_VERSION="${MONGOSH_VERSION:-2.12.0}"
prefix="${MONGOSH_PREFIX:-/var/cache/docker-chat/mongosh}"
if "$prefix/node_modules/.bin/mongosh" --version 2>/dev/null | grep -qx "$MONGOSH_VERSION"; then exit 0; fi
mkdir -p "$prefix"
npm install --prefix "$prefix" --no-save --no-audit --no-fund --omit=dev "mongosh@$MONGOSH_VERSION" >&2
