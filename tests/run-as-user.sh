#!/bin/sh
# Run a test binary (and its arguments) as an unprivileged user, creating the user when needed.  The files
# are copied to a temporary directory that the user can read, whatever the permissions of the build tree.
# Exits 77 (skip) when not root: an unprivileged user cannot switch users.
#
#   run-as-user.sh TEST [FILE-ARGUMENT...]
set -eu
user=maelstrom-test
if [ "$(id -u)" -ne 0 ]; then
        echo "not root: cannot run as another user, skipping" >&2
        exit 77
fi
if ! id -u "$user" >/dev/null 2>&1; then
        useradd --system --no-create-home --shell /usr/sbin/nologin "$user" || {
                echo "cannot create user $user, skipping" >&2; exit 77; }
fi
dir=$(mktemp -d /tmp/run-as-user-XXXXXX)
trap 'rm -rf "$dir"' EXIT
chmod 755 "$dir"
args=""
for f in "$@"; do
        cp "$f" "$dir/"
        args="$args $dir/$(basename "$f")"
done
cd /
# shellcheck disable=SC2086
setpriv --reuid="$user" --regid="$user" --init-groups --inh-caps=-all $args
