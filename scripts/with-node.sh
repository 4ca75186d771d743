#!/usr/bin/env bash
# Runs a command under Node >= 22.12 (see ensure-node.sh), so `npm start` and `npm test`
# work the same on a machine whose system Node is older.
set -e
# shellcheck source=ensure-node.sh
source "$(dirname "${BASH_SOURCE[0]}")/ensure-node.sh"
exec "$@"
