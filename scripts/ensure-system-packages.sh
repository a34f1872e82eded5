#!/usr/bin/env bash
# The system packages the tests need, from Debian: Chromium (Playwright drives the distribution's
# browser; its own download cannot be reached here), PyKMIP (a real KMIP server for the
# interop tests) and libnbd's tools with nbdkit (real NBD peers for the transport interop tests). Installed with apt-get when running as root; otherwise we name the command.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/pykmip-server ] || missing+=(python3-pykmip)
[ -x /usr/bin/nbdcopy ] && [ -x /usr/bin/nbdinfo ] || missing+=(libnbd-bin)
[ -x /usr/bin/nbdkit ] || missing+=(nbdkit)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = "0" ]; then
  echo "Installing system packages for the tests: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "Installed: ${missing[*]}"
else
  echo "The tests need these Debian packages: ${missing[*]}. Install them with:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
