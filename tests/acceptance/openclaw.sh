#!/usr/bin/env bash
# Acceptance with the real host: install this package into OpenClaw 2026.9.6 and use it there.
#
#   1. Node 24 and openclaw@2026.9.6 from the npm registry into .cache/ (OpenClaw needs Node >= 24;
#      its preinstall check reads the Node that runs npm, so npm runs under the Node 24 binary);
#   2. `npm pack`, then `openclaw plugins install <tgz> --force --accept-capabilities` in a throwaway HOME;
#   3. `openclaw plugins inspect imagegen --runtime --json`: loaded, the four tools, the service, the
#      image generation provider; `openclaw skills list --json`: both skills eligible;
#   4. the sandbox upstream with a funded throwaway wallet, then `openclaw infer image generate` and
#      `openclaw infer image edit` through the `imagegen` provider (no gateway: in-process core);
#      real PNGs must come out;
#   5. `openclaw gateway run`: the plugin's service starts the proxy on the configured port;
#      generate_image is invoked through the host (POST /tools/invoke) and the skill's HTTP example
#      through the proxy; stopping the gateway frees the port. The sandbox must have settled
#      exactly those four payments, all in the one ledger.
#
# Downloads are cached under $IMAGEGEN_ACCEPTANCE_CACHE (default .cache/): a re-run only re-packs and
# re-installs the plugin, with its dependencies from the npm cache. Run by .ci/run, not npm test.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
OPENCLAW_VERSION=2026.9.6
CACHE=${IMAGEGEN_ACCEPTANCE_CACHE:-$ROOT/.cache}
NODE_PREFIX=$CACHE/openclaw-node
OPENCLAW_PREFIX=$CACHE/openclaw
export npm_config_cache=$CACHE/npm-cache npm_config_prefer_offline=true npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false

step() { printf '\n== [%ss] %s\n' "$SECONDS" "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/imagegen-openclaw.XXXXXX")
SANDBOX_PID=
GATEWAY_PID=
cleanup() {
  if [ -n "$GATEWAY_PID" ]; then kill "$GATEWAY_PID" 2>/dev/null || true; wait "$GATEWAY_PID" 2>/dev/null || true; fi
  if [ -n "$SANDBOX_PID" ]; then kill "$SANDBOX_PID" 2>/dev/null || true; wait "$SANDBOX_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

step "Node 24 (cached in $NODE_PREFIX)"
NODE24=$NODE_PREFIX/node_modules/node/bin/node
if ! { [ -x "$NODE24" ] && "$NODE24" --version | grep -q '^v24\.'; }; then
  npm install --prefix "$NODE_PREFIX" --no-save node@24 >/dev/null
fi
"$NODE24" --version | grep -q '^v24\.' || fail "npm i node@24 did not produce a Node 24 binary at $NODE24"
echo "node $("$NODE24" --version)"

step "openclaw@$OPENCLAW_VERSION (cached in $OPENCLAW_PREFIX)"
OPENCLAW=$OPENCLAW_PREFIX/node_modules/openclaw/openclaw.mjs
installed=$(node -p "try { require('$OPENCLAW_PREFIX/node_modules/openclaw/package.json').version } catch { '' }")
if [ "$installed" != "$OPENCLAW_VERSION" ]; then
  NPM_CLI=$(readlink -f "$(command -v npm)")
  case "$NPM_CLI" in *.js) ;; *) NPM_CLI=$(dirname "$NPM_CLI")/../lib/node_modules/npm/bin/npm-cli.js ;; esac
  [ -f "$NPM_CLI" ] || fail "cannot find npm-cli.js to run npm under Node 24"
  PATH=$(dirname "$NODE24"):$PATH "$NODE24" "$NPM_CLI" install --prefix "$OPENCLAW_PREFIX" --no-save "openclaw@$OPENCLAW_VERSION" >/dev/null
fi
# Every openclaw command runs under Node 24 with a throwaway HOME (its state lives in ~/.openclaw).
export HOME=$WORK/home
mkdir -p "$HOME"
oc() { PATH=$(dirname "$NODE24"):$PATH "$NODE24" "$OPENCLAW" "$@"; }
oc --version

step "build and pack this package"
npm run --silent build
TGZ=$WORK/$(npm pack --silent --pack-destination "$WORK" | tail -1)
echo "$TGZ"

step "openclaw plugins install"
oc plugins install "$TGZ" --force --accept-capabilities

step "openclaw plugins inspect imagegen --runtime --json"
oc plugins inspect imagegen --runtime --json >"$WORK/inspect.json" 2>"$WORK/inspect.err" || { cat "$WORK/inspect.err" >&2; fail "inspect failed"; }
node - "$WORK/inspect.json" <<'EOF'
const report = JSON.parse(require('node:fs').readFileSync(process.argv[2], 'utf8'))
const plugin = report.plugin
const expect = (ok, what) => { if (!ok) { console.error(`FAIL: ${what}\n${JSON.stringify(plugin, null, 2).slice(0, 4000)}`); process.exit(1) } }
expect(plugin.status === 'loaded', `status is loaded (got ${plugin.status}${plugin.error ? `: ${plugin.error}` : ''})`)
const tools = ['generate_image', 'edit_image', 'list_image_models', 'wallet_status']
expect(JSON.stringify([...plugin.toolNames].sort()) === JSON.stringify([...tools].sort()), `tools ${tools} (got ${plugin.toolNames})`)
expect(plugin.services.includes('imagegen-proxy'), `service imagegen-proxy (got ${plugin.services})`)
expect(plugin.imageGenerationProviderIds.includes('imagegen'), `image generation provider imagegen (got ${plugin.imageGenerationProviderIds})`)
expect((report.diagnostics ?? []).every((d) => d.level !== 'error'), `no error diagnostics (got ${JSON.stringify(report.diagnostics)})`)
console.log(`status ${plugin.status}; tools ${plugin.toolNames.join(', ')}; services ${plugin.services.join(', ')}; image providers ${plugin.imageGenerationProviderIds.join(', ')}`)
EOF

step "openclaw skills list --json"
oc skills list --json >"$WORK/skills.json" 2>"$WORK/skills.err" || { cat "$WORK/skills.err" >&2; fail "skills list failed"; }
if grep -q 'skill path not found' "$WORK/skills.err"; then cat "$WORK/skills.err" >&2; fail "OpenClaw did not find the packaged skills"; fi
node - "$WORK/skills.json" <<'EOF'
const { skills } = JSON.parse(require('node:fs').readFileSync(process.argv[2], 'utf8'))
for (const name of ['imagegen', 'imagegen-wallet']) {
  const skill = skills.find((s) => s.name === name)
  if (!skill) { console.error(`FAIL: skill ${name} not listed (have: ${skills.map((s) => s.name).join(', ')})`); process.exit(1) }
  if (skill.eligible !== true) { console.error(`FAIL: skill ${name} is not eligible: ${JSON.stringify(skill)}`); process.exit(1) }
  console.log(`${name}: eligible, ${skill.emoji ?? ''} ${skill.source ?? ''}`)
}
EOF

step "sandbox upstream and a funded throwaway wallet"
export BLOCKRUN_HOME=$WORK/blockrun
ADDRESS=$(node --input-type=module -e "const { loadWallet } = await import('$ROOT/dist/server/wallet/key.js'); console.log((await loadWallet({ home: process.env.BLOCKRUN_HOME })).address)")
free_port() { node -e "const s = require('node:net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close() })"; }
SANDBOX_PORT=$(free_port)
node dist/server/cli/index.js sandbox --port "$SANDBOX_PORT" --fund "$ADDRESS=10" >"$WORK/sandbox.out" 2>"$WORK/sandbox.err" &
SANDBOX_PID=$!
SANDBOX=http://127.0.0.1:$SANDBOX_PORT/api   # the API base URL: the sandbox serves under /api, as the gateway does
for _ in $(seq 1 100); do curl -fsS "$SANDBOX/_sandbox/state" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "$SANDBOX/_sandbox/state" >/dev/null || { cat "$WORK/sandbox.err" >&2; fail "sandbox did not start"; }
echo "wallet $ADDRESS funded with 10 test USDC on $SANDBOX"

# The upstream and port come from the plugin config, the data directory (wallet, ledger) from the
# environment: both layers of the plugin's settings are in play.
oc config set plugins.entries.imagegen.config.upstream "$SANDBOX" >/dev/null
PROXY_PORT=$(free_port)
oc config set plugins.entries.imagegen.config.port "$PROXY_PORT" --strict-json >/dev/null

step "openclaw infer image generate --model imagegen/google/nano-banana"
oc infer image generate --model imagegen/google/nano-banana --prompt "a lighthouse on a cliff at dusk" --output "$WORK/generated.png" --json >"$WORK/generate.json" 2>"$WORK/generate.err" ||
  { cat "$WORK/generate.json" "$WORK/generate.err" >&2; fail "infer image generate failed"; }
cat "$WORK/generate.json"

step "openclaw infer image edit --model imagegen/openai/gpt-image-1"
oc infer image edit --model imagegen/openai/gpt-image-1 --file "$WORK/generated.png" --prompt "add falling snow" --output "$WORK/edited.png" --json >"$WORK/edit.json" 2>"$WORK/edit.err" ||
  { cat "$WORK/edit.json" "$WORK/edit.err" >&2; fail "infer image edit failed"; }
cat "$WORK/edit.json"

step "openclaw gateway run: the plugin's service starts the proxy on the configured port"
GATEWAY_PORT=$(free_port)
PATH=$(dirname "$NODE24"):$PATH "$NODE24" "$OPENCLAW" gateway run --allow-unconfigured --auth none --bind loopback --port "$GATEWAY_PORT" >"$WORK/gateway.out" 2>"$WORK/gateway.err" &
GATEWAY_PID=$!
for _ in $(seq 1 300); do curl -fsS "http://127.0.0.1:$PROXY_PORT/health" >"$WORK/health.json" 2>/dev/null && break; kill -0 "$GATEWAY_PID" 2>/dev/null || break; sleep 1; done
curl -fsS "http://127.0.0.1:$PROXY_PORT/health" >"$WORK/health.json" || { tail -40 "$WORK/gateway.out" "$WORK/gateway.err" >&2; fail "no proxy on port $PROXY_PORT after the gateway started"; }
grep -q "imagegen: image proxy listening on http://127.0.0.1:$PROXY_PORT" "$WORK/gateway.out" "$WORK/gateway.err" || fail "the gateway log does not say the imagegen proxy started"
cat "$WORK/health.json"; echo
# The plugin's own tool, invoked through the real host (POST /tools/invoke, no model needed).
curl -fsS "http://127.0.0.1:$GATEWAY_PORT/tools/invoke" -H 'content-type: application/json' \
  -d '{"tool":"generate_image","args":{"prompt":"a lighthouse in a storm, oil painting","model":"flux","size":"1216x832"}}' >"$WORK/tool-generate.json" ||
  { cat "$WORK/tool-generate.json" >&2; fail "generate_image through /tools/invoke failed"; }
# The skill's first HTTP example, through the proxy the gateway runs.
curl -fsS "http://127.0.0.1:$PROXY_PORT/v1/images/generations" -H 'content-type: application/json' \
  -d '{"model":"google/nano-banana","prompt":"a golden retriever surfing on a wave","size":"1024x1024","n":1}' >"$WORK/proxy-generate.json" ||
  { cat "$WORK/proxy-generate.json" >&2; fail "generation through the gateway's proxy failed"; }
kill -TERM "$GATEWAY_PID"
for _ in $(seq 1 60); do kill -0 "$GATEWAY_PID" 2>/dev/null || break; sleep 1; done
GATEWAY_PID=
curl -fsS "http://127.0.0.1:$PROXY_PORT/health" >/dev/null 2>&1 && fail "the proxy still answers after the gateway stopped"
echo "gateway stopped; port $PROXY_PORT released"

step "real PNGs written, and the sandbox settled exactly those payments"
curl -fsS "$SANDBOX/_sandbox/state" >"$WORK/state.json"
node --input-type=module - "$WORK" "$ADDRESS" <<'EOF'
import { readFileSync } from 'node:fs'
import sharp from 'sharp'
const [work, address] = process.argv.slice(2)
const expect = (ok, what) => { if (!ok) { console.error(`FAIL: ${what}`); process.exit(1) } }
for (const [name, model] of [['generate', 'google/nano-banana'], ['edit', 'openai/gpt-image-1']]) {
  const report = JSON.parse(readFileSync(`${work}/${name}.json`, 'utf8'))
  expect(report.ok === true, `${name}: ok (got ${JSON.stringify(report).slice(0, 500)})`)
  expect(report.provider === 'imagegen' && report.model === model, `${name}: provider imagegen, model ${model} (got ${report.provider}, ${report.model})`)
}
const viaProxy = JSON.parse(readFileSync(`${work}/proxy-generate.json`, 'utf8'))
const viaTool = JSON.parse(readFileSync(`${work}/tool-generate.json`, 'utf8'))
expect(viaTool.ok === true, `generate_image via /tools/invoke: ok (got ${JSON.stringify(viaTool).slice(0, 500)})`)
const [text, preview] = viaTool.result.content
const toolImage = viaTool.result.details.images[0]
expect(text.type === 'text' && text.text.includes(toolImage.path), 'the tool text names the file path')
expect(preview?.type === 'image' && /^image\/(jpeg|webp)$/.test(preview.mimeType) && preview.data.length < 100_000, 'the tool returns a small inline preview')
// The seed's "flux" has no gateway entry: it reaches xai/grok-imagine-image (1024x1024 only), and says so.
const details = viaTool.result.details
expect(details.model === 'xai/grok-imagine-image' && details.size === '1024x1024', `the tool used grok-imagine-image at 1024x1024 for "flux" (got ${details.model} ${details.size})`)
expect(JSON.stringify(details.notes ?? []).includes('xai/grok-imagine-image') && text.text.includes('grok-imagine-image'), 'the substitution of flux is stated in the tool text and details')
console.log(`generate_image via the gateway: ${toolImage.path}, preview ${preview.mimeType} ${preview.data.length} base64 chars`)
for (const file of ['generated.png', 'edited.png', toolImage.path, viaProxy.data[0].path]) {
  const bytes = readFileSync(file.startsWith('/') ? file : `${work}/${file}`)
  expect(bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), `${file} is a PNG`)
  const meta = await sharp(bytes).metadata()
  const size = '1024x1024'
  expect(meta.format === 'png' && `${meta.width}x${meta.height}` === size, `${file} is a ${size} PNG (got ${meta.format} ${meta.width}x${meta.height})`)
  console.log(`${file}: ${meta.width}x${meta.height} ${meta.format}, ${bytes.length} bytes`)
}
const state = JSON.parse(readFileSync(`${work}/state.json`, 'utf8'))
const amounts = state.transfers.map((t) => t.amount)
// List price x 1.05 + the $0.001 fee: infer generate (nano-banana $0.05), infer edit (gpt-image-1 $0.02),
// the tool ("flux" → grok-imagine-image $0.02), the HTTP example (nano-banana).
const expected = ['53500', '22000', '22000', '53500']
expect(state.settled === 4 && JSON.stringify(amounts) === JSON.stringify(expected), `four settlements: ${expected} (got ${state.settled}: ${amounts})`)
expect(state.transfers.every((t) => t.from.toLowerCase() === address.toLowerCase()), 'all paid by the throwaway wallet')
expect(viaTool.result.details.cost.transaction === state.transfers[2].transaction, 'the tool reports the settlement the sandbox made')
expect(viaProxy.cost.transaction === state.transfers[3].transaction, 'the proxy reports the settlement the sandbox made')
const ledger = readFileSync(`${process.env.BLOCKRUN_HOME}/ledger.jsonl`, 'utf8')
expect(state.transfers.every((t) => ledger.includes(t.transaction)), 'every settlement is in the one shared ledger')
console.log(`sandbox settled ${state.settled} payments (${amounts.join(' + ')} base units) from ${address}; all in the shared ledger`)
EOF

KEY=$(tr -d '\n' <"$BLOCKRUN_HOME/wallet.key")
# Outputs, gateway logs and OpenClaw's state (config, logs) must not hold the key; only wallet.key does.
if grep -rqiF --exclude-dir=blockrun --exclude-dir=node_modules "${KEY#0x}" "$WORK" /tmp/openclaw 2>/dev/null; then fail "the wallet key appears in OpenClaw's output, logs or state"; fi
unset KEY

step "OpenClaw acceptance passed"
