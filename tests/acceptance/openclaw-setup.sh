#!/usr/bin/env bash
# Node 24 and openclaw@$OPENCLAW_VERSION from the npm registry, cached under
# $IMAGEGEN_ACCEPTANCE_CACHE (default .cache/): OpenClaw needs Node >= 24, and its preinstall check
# reads the Node that runs npm, so npm runs under the Node 24 binary. Prints, for eval:
#   NODE24=<path to node 24>  OPENCLAW=<path to openclaw.mjs>
# Used by tests/acceptance/openclaw.sh and by `npm run bench` (bench/openclaw-inspect.ts).
set -euo pipefail
cd "$(dirname "$0")/../.."
OPENCLAW_VERSION=${OPENCLAW_VERSION:-2026.9.6}
CACHE=${IMAGEGEN_ACCEPTANCE_CACHE:-$PWD/.cache}
NODE_PREFIX=$CACHE/openclaw-node
OPENCLAW_PREFIX=$CACHE/openclaw
export npm_config_cache=$CACHE/npm-cache npm_config_prefer_offline=true npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false

NODE24=$NODE_PREFIX/node_modules/node/bin/node
if ! { [ -x "$NODE24" ] && "$NODE24" --version | grep -q '^v24\.'; }; then
  npm install --prefix "$NODE_PREFIX" --no-save node@24 >/dev/null
fi
"$NODE24" --version | grep -q '^v24\.' || { echo "npm i node@24 did not produce a Node 24 binary at $NODE24" >&2; exit 1; }

OPENCLAW=$OPENCLAW_PREFIX/node_modules/openclaw/openclaw.mjs
installed=$(node -p "try { require('$OPENCLAW_PREFIX/node_modules/openclaw/package.json').version } catch { '' }")
if [ "$installed" != "$OPENCLAW_VERSION" ]; then
  NPM_CLI=$(readlink -f "$(command -v npm)")
  case "$NPM_CLI" in *.js) ;; *) NPM_CLI=$(dirname "$NPM_CLI")/../lib/node_modules/npm/bin/npm-cli.js ;; esac
  [ -f "$NPM_CLI" ] || { echo "cannot find npm-cli.js to run npm under Node 24" >&2; exit 1; }
  PATH=$(dirname "$NODE24"):$PATH "$NODE24" "$NPM_CLI" install --prefix "$OPENCLAW_PREFIX" --no-save "openclaw@$OPENCLAW_VERSION" >/dev/null
fi
echo "NODE24=$NODE24"
echo "OPENCLAW=$OPENCLAW"
