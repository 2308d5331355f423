#!/usr/bin/env bash
# Builds the Debian package with cargo-deb and checks what it installs.
# Usage: scripts/check-deb.sh [extra cargo-deb args]
# Needs cargo-deb (`cargo install cargo-deb --locked`) and dpkg-deb.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "check-deb: $*" >&2; exit 1; }

command -v dpkg-deb >/dev/null 2>&1 || fail "dpkg-deb is missing"
cargo deb --version >/dev/null 2>&1 || fail "cargo-deb is missing: cargo install cargo-deb --locked"
[ -f systemd/99-lane-agent.rules ] || fail "systemd/99-lane-agent.rules (the udev rule) is missing"

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

cargo deb -p lane-agent --locked --output "$out" "$@" >&2
deb=$(ls "$out"/*.deb)
echo "check-deb: built $deb"

dpkg-deb -c "$deb" > "$out/contents"
expect_file() {
    # $1 path inside the package, $2 expected mode string prefix
    local line
    line=$(awk -v p="./$1" '$6 == p' "$out/contents")
    [ -n "$line" ] || fail "missing $1"
    case "$line" in
        "$2"*) ;;
        *) fail "$1 has mode ${line%% *}, expected $2" ;;
    esac
}
expect_file usr/bin/lane-agent -rwxr-xr-x
expect_file usr/lib/systemd/system/lane-agent.service -rw-r--r--
expect_file usr/lib/udev/rules.d/99-lane-agent.rules -rw-r--r--
expect_file usr/lib/sysusers.d/lane-agent.conf -rw-r--r--
expect_file usr/lib/tmpfiles.d/lane-agent.conf -rw-r--r--
expect_file etc/lane-agent/lane-agent.toml -rw-r--r--
expect_file usr/share/doc/lane-agent/operations.md -rw-r--r--
if grep -Eq 'pos-client-secret$|api-token$' "$out/contents"; then
    fail "a secret file is packaged"
fi

dpkg-deb -e "$deb" "$out/control"
grep -qx '/etc/lane-agent/lane-agent.toml' "$out/control/conffiles" || fail "the example config is not a conffile"
grep -q 'systemd-sysusers lane-agent.conf' "$out/control/postinst" || fail "postinst does not create the group"
grep -q '^Depends:.*systemd' "$out/control/control" || fail "no dependency on systemd"

# The packaged binary runs and the packaged example config parses (its secrets are
# systemd credentials, so only those three problems may remain).
dpkg-deb -x "$deb" "$out/root"
bin="$out/root/usr/bin/lane-agent"
"$bin" --version
# The lane's binary is built without the `demo` feature and without test switches: no
# simulator (the POS stand-in with async-graphql, the simulated terminal) and no fault switch
# is linked in, and `demo` says so with exit 64.
if grep -aq 'hardware-sim/src\|async-graphql-' "$bin"; then
    fail "the packaged binary links the simulators"
fi
if grep -aq 'LANE_AGENT_FAULT' "$bin"; then
    fail "the packaged binary carries the crash harness's fault switch"
fi
set +e
"$bin" demo >/dev/null 2>&1
demo_rc=$?
set -e
[ "$demo_rc" = 64 ] || fail "the packaged binary's demo exited $demo_rc, expected 64 (no demo)"
echo "check-deb: binary $(stat -c %s "$bin") bytes, no simulators, no fault switch"
set +e
report=$("$bin" check-config --json --config "$out/root/etc/lane-agent/lane-agent.toml")
set -e
paths=$(echo "$report" | grep -o '"path": "[^"/]*"' | sort -u | tr '\n' ' ')
[ "$paths" = '"path": "api.token_file" "path": "pos.client_secret_file" "path": "terminal.password_file" ' ] \
    || fail "unexpected problems in the packaged config: $paths"

echo "check-deb: contents OK"
cat "$out/contents"
