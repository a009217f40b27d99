#!/usr/bin/env bash
# Install the real Snowplow browser tracker from npm into .node/ (gitignored) at the repository root.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
mkdir -p "$root/.node"
cp "$root/tests/browser/package.json" "$root/.node/package.json"
npm install --prefix "$root/.node" --no-audit --no-fund --no-package-lock --loglevel=error
test -f "$root/.node/node_modules/@snowplow/browser-tracker/dist/index.umd.min.js"
