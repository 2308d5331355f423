#!/usr/bin/env bash
# The project's test command: installs what the tests need on a fresh Debian machine
# (idempotent, skipped when already present), then runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v tshark >/dev/null 2>&1 || need_apt+=(tshark)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
command -v node >/dev/null 2>&1 || need_apt+=(nodejs npm)
# systemd: systemd-analyze for the unit's security gate, and the manager itself
# (/lib/systemd/systemd, systemctl) for the watchdog restart test.
{ command -v systemd-analyze >/dev/null 2>&1 && [ -x /lib/systemd/systemd ]; } || need_apt+=(systemd)
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "Installing ${need_apt[*]} ..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# The live keyboard-wedge test needs /dev/uinput; load the module where the kernel has it
# (in a container it cannot exist, and that test says NOT RUN).
[ -e /dev/uinput ] || modprobe uinput 2>/dev/null || true

# The real OpenID Connect provider the POS client's tests talk to.
if [ ! -d tests/oidc/node_modules/oidc-provider ]; then
    (cd tests/oidc && npm ci --no-audit --no-fund --loglevel=error)
fi

cargo test --workspace --all-targets --locked "$@"

# The Debian package: built (unoptimised, profile deb-check) and its contents inspected.
# Always in CI; elsewhere only with LANE_DEB_CHECK=1, since it is a second full build.
if [ -n "${CI:-}" ] || [ "${LANE_DEB_CHECK:-0}" = 1 ]; then
    command -v dpkg-deb >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq dpkg >/dev/null; }
    cargo deb --version >/dev/null 2>&1 || cargo install cargo-deb --locked --version 3.8.0
    ./scripts/check-deb.sh --profile deb-check
fi
