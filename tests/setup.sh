#!/usr/bin/env bash
# Install everything the test suite needs that a fresh machine lacks: Debian's Chromium (Playwright drives it;
# Playwright's own browser download is not used), npm, this package with its test extra, and the real Snowplow
# browser tracker (into .node/, which git ignores).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update
  $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi

python -m pip install -e '.[test]'
bash tests/browser/install.sh
