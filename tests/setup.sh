#!/usr/bin/env bash
# Prepare this checkout for the tests on Debian or Ubuntu (as root, or a user with sudo), then run them with
# `.venv/bin/python -m pytest`. It installs through apt what a stock system lacks (python3 with venv, Debian's
# Chromium, which Playwright drives instead of its own browser download, and npm), creates .venv/ with Debian's
# python3 and installs this package into it with its test extra (editable), installs the real Snowplow browser
# tracker from npm into .node/, and fetches the external test data that is not already there (tests/support.py
# says where it is looked for). Everything it creates in the checkout is ignored by git. Safe to run again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

missing=()
command -v python3 >/dev/null 2>&1 || missing+=(python3)
# Debian splits venv's pip bootstrap into python3-venv; without it `python3 -m venv` fails.
if [ ! -x .venv/bin/python ] && ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then missing+=(python3-venv); fi
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update
  $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
bash tests/browser/install.sh
.venv/bin/python tests/fetch_test_data.py
