#!/usr/bin/env bash
# Runs a command under Node >= the minimum (see ensure-node.sh), for a shell of your own:
# `scripts/with-node.sh node dist/cli.js keys:rotate`. npm scripts use with-node.mjs.
set -e
# shellcheck source=ensure-node.sh
source "$(dirname "${BASH_SOURCE[0]}")/ensure-node.sh"
exec "$@"
