#!/usr/bin/env bash
# Checks the systemd files offline:
#  1. `systemd-analyze verify` of the unit, with a built lane-agent standing in for
#     /usr/bin/lane-agent (verify insists the ExecStart binary exists);
#  2. the hardening gate: `systemd-analyze security --offline=true --threshold=20`
#     (exposure 0-100 scale, so 20 = the 2.0 of the human output);
#  3. the sysusers.d and tmpfiles.d snippets, applied to a scratch root.
# Usage: scripts/check-systemd.sh [path/to/lane-agent]   (default target/debug/lane-agent)
# UNIT=... overrides the unit file (the tests use it to prove the gate can fail).
set -euo pipefail
cd "$(dirname "$0")/.."

unit=${UNIT:-systemd/lane-agent.service}
threshold=${THRESHOLD:-20}
bin=${1:-target/debug/lane-agent}

if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "check-systemd: systemd-analyze is not installed" >&2
    exit 2
fi
if [ ! -x "$bin" ]; then
    echo "check-systemd: no lane-agent binary at $bin (cargo build -p lane-agent first)" >&2
    exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 1. verify: the unit must be named lane-agent.service for its own references.
sed "s|/usr/bin/lane-agent|$(realpath "$bin")|g" "$unit" > "$tmp/lane-agent.service"
systemd-analyze verify --man=no "$tmp/lane-agent.service"
echo "check-systemd: verify OK"

# 2. security gate.
mkdir -p "$tmp/security"
cp "$unit" "$tmp/security/lane-agent.service"
set +e
report=$(systemd-analyze security --offline=true --threshold="$threshold" --no-pager \
    "$tmp/security/lane-agent.service" 2>&1)
rc=$?
set -e
echo "$report" | grep -E '^(→ )?Overall exposure level' || echo "$report"
if [ $rc -ne 0 ]; then
    echo "check-systemd: security exposure above threshold $threshold (rc $rc)" >&2
    echo "$report" | grep '✗' >&2 || true
    exit 1
fi
echo "check-systemd: security OK (threshold $threshold)"

# 3. sysusers / tmpfiles on a scratch root.
root="$tmp/root"
mkdir -p "$root/etc"
# With --root, named files are looked up inside the root; feed them on stdin instead.
systemd-sysusers --root="$root" - < systemd/lane-agent.sysusers.conf
grep -q '^lane-agent:' "$root/etc/group" || { echo "check-systemd: sysusers did not create group lane-agent" >&2; exit 1; }
systemd-tmpfiles --root="$root" --create - < systemd/lane-agent.tmpfiles.conf
[ -d "$root/etc/lane-agent" ] || { echo "check-systemd: tmpfiles did not create /etc/lane-agent" >&2; exit 1; }
echo "check-systemd: sysusers and tmpfiles OK"
