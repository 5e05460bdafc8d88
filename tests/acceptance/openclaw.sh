#!/usr/bin/env bash
# Acceptance with the real host: install this package into OpenClaw 2026.9.6 and use it there.
#
#   1. Node 24 and openclaw@2026.9.6 from the npm registry into .cache/ (./openclaw-setup.sh);
#   2. `npm pack` (which builds the bundle), then `openclaw plugins install <tgz> --force
#      --accept-capabilities` in a throwaway HOME; the installed size and `openclaw plugins inspect`
#      timed beside the bundled openai plugin's are printed (bench/openclaw-inspect.ts), not asserted;
#   3. `openclaw plugins inspect imagegen --runtime --json`: loaded, the five tools, the service, the
#      image generation provider; `openclaw skills list --json`: both skills eligible;
#   4. the sandbox upstream with a funded throwaway wallet, then `openclaw infer image generate` and
#      `openclaw infer image edit` through the `imagegen` provider (no gateway: in-process core);
#      real PNGs must come out;
#   5. `openclaw gateway run`: the plugin's service starts the proxy on the configured port;
#      generate_image is invoked through the host (POST /tools/invoke), the skill's HTTP example
#      goes through the proxy, and OpenClaw's own image_generate tool runs on our provider (a 16:9
#      request on gpt-image-1 comes out 1536x1024, the shape our declaration offers); stopping the
#      gateway frees the port;
#   6. a second home where ClawRouter is installed (a stand-in, tests/fixtures/fake-clawrouter) and
#      our port is ClawRouter's: (a) with a ClawRouter proxy already answering on the port, the
#      gateway starts, our service leaves the port alone, generate_image and image_generate pay
#      in-process from our wallet and nothing reaches ClawRouter; (b) with ClawRouter's service
#      starting after ours, ClawRouter still gets its port;
#   7. the sandbox must have settled exactly those payments, all from the one wallet, all in the
#      one ledger, and no output or OpenClaw state holds the wallet key.
#
# Downloads are cached under $IMAGEGEN_ACCEPTANCE_CACHE (default .cache/): a re-run only re-packs and
# re-installs the plugin, with its dependencies from the npm cache. Run by .ci/run, not npm test.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
CACHE=${IMAGEGEN_ACCEPTANCE_CACHE:-$ROOT/.cache}
export npm_config_cache=$CACHE/npm-cache npm_config_prefer_offline=true npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false

step() { printf '\n== [%ss] %s\n' "$SECONDS" "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/imagegen-openclaw.XXXXXX")
SANDBOX_PID=
GATEWAY_PID=
CLAWROUTER_PID=
cleanup() {
  for pid in "$GATEWAY_PID" "$CLAWROUTER_PID" "$SANDBOX_PID"; do
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

step "Node 24 and openclaw (cached in $CACHE)"
eval "$(tests/acceptance/openclaw-setup.sh)"
# Every openclaw command runs under Node 24 with a throwaway HOME (its state lives in ~/.openclaw).
export HOME=$WORK/home
mkdir -p "$HOME"
oc() { PATH=$(dirname "$NODE24"):$PATH "$NODE24" "$OPENCLAW" "$@"; }
oc --version

step "build and pack this package (npm pack builds the bundle first)"
TGZ=$WORK/$(npm pack --silent --pack-destination "$WORK" | tail -1)
echo "$TGZ"

step "openclaw plugins install"
oc plugins install "$TGZ" --force --accept-capabilities

step "installed size, and openclaw plugins inspect timed beside the bundled openai plugin (printed, not asserted)"
du -sb "$HOME/.openclaw/extensions/imagegen" | awk '{ printf "installed plugin: %.1f MB\n", $1 / 1e6 }'
npx --no-install tsc -p bench/tsconfig.json
NODE24=$NODE24 OPENCLAW=$OPENCLAW node dist/bench/openclaw-inspect.js

step "openclaw plugins inspect imagegen --runtime --json"
oc plugins inspect imagegen --runtime --json >"$WORK/inspect.json" 2>"$WORK/inspect.err" || { cat "$WORK/inspect.err" >&2; fail "inspect failed"; }
node - "$WORK/inspect.json" <<'EOF'
const report = JSON.parse(require('node:fs').readFileSync(process.argv[2], 'utf8'))
const plugin = report.plugin
const expect = (ok, what) => { if (!ok) { console.error(`FAIL: ${what}\n${JSON.stringify(plugin, null, 2).slice(0, 4000)}`); process.exit(1) } }
expect(plugin.status === 'loaded', `status is loaded (got ${plugin.status}${plugin.error ? `: ${plugin.error}` : ''})`)
const tools = ['generate_image', 'edit_image', 'quote_image', 'list_image_models', 'wallet_status']
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

# A gateway in the background with the current HOME; its log in $WORK/$1.out and .err.
start_gateway() {
  GATEWAY_PORT=$(free_port)
  PATH=$(dirname "$NODE24"):$PATH "$NODE24" "$OPENCLAW" gateway run --allow-unconfigured --auth none --bind loopback --port "$GATEWAY_PORT" >"$WORK/$1.out" 2>"$WORK/$1.err" &
  GATEWAY_PID=$!
}
stop_gateway() {
  kill -TERM "$GATEWAY_PID"
  for _ in $(seq 1 60); do kill -0 "$GATEWAY_PID" 2>/dev/null || break; sleep 1; done
  GATEWAY_PID=
}
# Waits up to 300 s for a line matching $2 in the gateway log $1 (or in the file $3), failing if the gateway exits first.
wait_for_log() {
  for _ in $(seq 1 300); do
    grep -q "$2" "$WORK/$1.out" "$WORK/$1.err" ${3:+"$3"} 2>/dev/null && return 0
    kill -0 "$GATEWAY_PID" 2>/dev/null || break
    sleep 1
  done
  tail -40 "$WORK/$1.out" "$WORK/$1.err" >&2
  fail "no log line matching '$2' after the gateway started ($1)"
}
# POST /tools/invoke on the running gateway: tool $1, JSON args $2, the answer into $WORK/$3.
invoke() {
  curl -fsS "http://127.0.0.1:$GATEWAY_PORT/tools/invoke" -H 'content-type: application/json' -d "{\"tool\":\"$1\",\"args\":$2}" >"$WORK/$3" ||
    { cat "$WORK/$3" >&2; fail "$1 through /tools/invoke failed"; }
}
# OpenClaw's image_generate runs as a background task: start it, wait for it, and write the image's path to $WORK/$2.path.
image_generate() {
  invoke image_generate "$1" "$2.json"
  local task
  task=$(node -e "const r = JSON.parse(require('fs').readFileSync('$WORK/$2.json', 'utf8')); if (!r.ok || !r.result.details.taskId) { console.error(JSON.stringify(r)); process.exit(1) } console.log(r.result.details.taskId)") ||
    fail "image_generate did not start a task"
  for _ in $(seq 1 120); do
    oc tasks show "$task" --json >"$WORK/$2.task.json" 2>/dev/null || true
    grep -q '"status": "\(succeeded\|failed\|timed_out\|cancelled\|lost\)"' "$WORK/$2.task.json" 2>/dev/null && break
    sleep 1
  done
  node -e "
    const task = JSON.parse(require('fs').readFileSync('$WORK/$2.task.json', 'utf8'))
    if (task.status !== 'succeeded' || task.sourceId !== 'image_generate:imagegen') { console.error('FAIL: image_generate task ' + JSON.stringify(task)); process.exit(1) }
    const path = /path=\"([^\"]+)\"/.exec(task.terminalSummary ?? '')?.[1]
    if (!path) { console.error('FAIL: no image path in ' + task.terminalSummary); process.exit(1) }
    require('fs').writeFileSync('$WORK/$2.path', path)
    console.log('image_generate on imagegen: ' + task.progressSummary + ', ' + path)"
}

step "openclaw gateway run: the plugin's service starts the proxy on the configured port"
# OpenClaw's own image_generate uses the provider of the configured image model.
oc config set agents.defaults.mediaModels.image '{"primary":"imagegen/google/nano-banana"}' --strict-json >/dev/null
# Above $0.10 a paid call needs the user's yes (every other call here costs less).
oc config set plugins.entries.imagegen.config.confirmAbove '"0.10"' --strict-json >/dev/null
start_gateway gateway
for _ in $(seq 1 300); do curl -fsS "http://127.0.0.1:$PROXY_PORT/health" >"$WORK/health.json" 2>/dev/null && break; kill -0 "$GATEWAY_PID" 2>/dev/null || break; sleep 1; done
curl -fsS "http://127.0.0.1:$PROXY_PORT/health" >"$WORK/health.json" || { tail -40 "$WORK/gateway.out" "$WORK/gateway.err" >&2; fail "no proxy on port $PROXY_PORT after the gateway started"; }
grep -q "imagegen: image proxy listening on http://127.0.0.1:$PROXY_PORT" "$WORK/gateway.out" "$WORK/gateway.err" || fail "the gateway log does not say the imagegen proxy started"
cat "$WORK/health.json"; echo
# The plugin's own tool, invoked through the real host (POST /tools/invoke, no model needed).
invoke generate_image '{"prompt":"a lighthouse in a storm, oil painting","model":"flux","size":"1216x832"}' tool-generate.json
# Above the threshold: nano-banana-pro ($0.106) is not paid without the user's approval. A host
# call has no one to ask, so it must end unpaid, saying why (the settlements are counted in step 7).
curl -sS "http://127.0.0.1:$GATEWAY_PORT/tools/invoke" -H 'content-type: application/json' \
  -d '{"tool":"generate_image","args":{"prompt":"a red kite","model":"banana-pro"}}' >"$WORK/tool-confirm.json" || true
echo "above the threshold: $(head -c 600 "$WORK/tool-confirm.json")"
grep -q '"ok":true' "$WORK/tool-confirm.json" && fail "generate_image above confirmAbove was run without approval"
grep -qi 'approval\|0\.106' "$WORK/tool-confirm.json" || fail "the refusal above confirmAbove says neither the price nor the approval"
# The skill's first HTTP example, through the proxy the gateway runs.
curl -fsS "http://127.0.0.1:$PROXY_PORT/v1/images/generations" -H 'content-type: application/json' \
  -d '{"model":"google/nano-banana","prompt":"a golden retriever surfing on a wave","size":"1024x1024","n":1}' >"$WORK/proxy-generate.json" ||
  { cat "$WORK/proxy-generate.json" >&2; fail "generation through the gateway's proxy failed"; }
# OpenClaw's own image_generate on our provider: 16:9 is not a shape gpt-image-1 makes; OpenClaw maps
# it to the nearest one the provider declares for that model (3:2), which runs at 1536x1024.
image_generate '{"prompt":"a wide mountain valley at dawn","model":"imagegen/openai/gpt-image-1","aspectRatio":"16:9"}' image-generate
stop_gateway
curl -fsS "http://127.0.0.1:$PROXY_PORT/health" >/dev/null 2>&1 && fail "the proxy still answers after the gateway stopped"
echo "gateway stopped; port $PROXY_PORT released"

step "a home with ClawRouter installed, whose port is ours too"
export HOME=$WORK/home-clawrouter
mkdir -p "$HOME"
oc plugins install "$ROOT/tests/fixtures/fake-clawrouter" --force --accept-capabilities >/dev/null
oc plugins install "$TGZ" --force --accept-capabilities >/dev/null
oc config set plugins.entries.imagegen.config.upstream "$SANDBOX" >/dev/null
oc config set agents.defaults.mediaModels.image '{"primary":"imagegen/google/nano-banana"}' --strict-json >/dev/null
# Both read BLOCKRUN_PROXY_PORT (ClawRouter's src/config.ts, our settings); no imagegen port is configured.
CLAW_PORT=$(free_port)
export BLOCKRUN_PROXY_PORT=$CLAW_PORT
clawrouter_requests() { curl -fsS "http://127.0.0.1:$CLAW_PORT/_fake/requests"; }

step "(a) ClawRouter's proxy already answers on $CLAW_PORT when the gateway starts"
node --input-type=module -e "
  const { startFakeClawRouter } = await import('$ROOT/tests/fixtures/fake-clawrouter/proxy.mjs')
  await startFakeClawRouter({ port: $CLAW_PORT, log: console.log })" >"$WORK/clawrouter.out" 2>&1 &
CLAWROUTER_PID=$!
for _ in $(seq 1 50); do grep -q listening "$WORK/clawrouter.out" && break; sleep 0.1; done
grep -q listening "$WORK/clawrouter.out" || { cat "$WORK/clawrouter.out" >&2; fail "the ClawRouter stand-in did not start"; }
export FAKE_CLAWROUTER_LOG=$WORK/clawrouter-plugin-a.log
start_gateway gateway-clawrouter-a
wait_for_log gateway-clawrouter-a "imagegen: ClawRouter (BlockRun's own proxy) is configured in this OpenClaw"
grep -q "takes port $CLAW_PORT, so the image proxy does not start there" "$WORK/gateway-clawrouter-a.out" "$WORK/gateway-clawrouter-a.err" || fail "the gateway log does not say imagegen left port $CLAW_PORT to ClawRouter"
invoke generate_image '{"prompt":"a lighthouse beside ClawRouter"}' clawrouter-tool.json
image_generate '{"prompt":"a fox beside ClawRouter","model":"imagegen/google/nano-banana"}' clawrouter-image-generate
[ "$(clawrouter_requests)" = "[]" ] || fail "requests of ours reached ClawRouter: $(clawrouter_requests)"
curl -fsS "http://127.0.0.1:$CLAW_PORT/health" | grep -q '"status":"ok"' || fail "ClawRouter no longer answers its port"
stop_gateway
curl -fsS "http://127.0.0.1:$CLAW_PORT/health" >/dev/null || fail "stopping the gateway stopped ClawRouter's proxy, which imagegen did not own"
kill "$CLAWROUTER_PID"; wait "$CLAWROUTER_PID" 2>/dev/null || true; CLAWROUTER_PID=
echo "imagegen left port $CLAW_PORT to ClawRouter; its tools paid in-process; ClawRouter heard nothing from it"

step "(b) ClawRouter's service starts after ours in the same gateway"
export FAKE_CLAWROUTER_LOG=$WORK/clawrouter-plugin-b.log FAKE_CLAWROUTER_DELAY_MS=10000
start_gateway gateway-clawrouter-b
wait_for_log gateway-clawrouter-b "takes port $CLAW_PORT, so the image proxy does not start there"
grep -q "\[ClawRouter\]" "$FAKE_CLAWROUTER_LOG" 2>/dev/null && fail "ClawRouter's service started before ours: this case needs it second ($(cat "$FAKE_CLAWROUTER_LOG"))"
wait_for_log gateway-clawrouter-b "\[ClawRouter\] \(listening\|Port .* already in use\|proxy failed\)" "$FAKE_CLAWROUTER_LOG"
grep -q "listening on http://127.0.0.1:$CLAW_PORT" "$FAKE_CLAWROUTER_LOG" || { cat "$FAKE_CLAWROUTER_LOG" >&2; fail "ClawRouter, starting second, did not get its port"; }
curl -fsS "http://127.0.0.1:$CLAW_PORT/health" | grep -q '"status":"ok"' || fail "ClawRouter does not answer its port"
stop_gateway
unset FAKE_CLAWROUTER_LOG FAKE_CLAWROUTER_DELAY_MS BLOCKRUN_PROXY_PORT
echo "ClawRouter, starting after imagegen, listens on $CLAW_PORT"

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
// Beside ClawRouter the tool ran in-process, from the same wallet, and the answer says why.
const besideClawRouter = JSON.parse(readFileSync(`${work}/clawrouter-tool.json`, 'utf8'))
expect(besideClawRouter.ok === true, `generate_image beside ClawRouter: ok (got ${JSON.stringify(besideClawRouter).slice(0, 500)})`)
const clawImage = besideClawRouter.result.details.images[0]
const images = [
  ['generated.png', '1024x1024'],
  ['edited.png', '1024x1024'],
  [toolImage.path, '1024x1024'],
  [viaProxy.data[0].path, '1024x1024'],
  [readFileSync(`${work}/image-generate.path`, 'utf8'), '1536x1024'],
  [clawImage.path, '1024x1024'],
  [readFileSync(`${work}/clawrouter-image-generate.path`, 'utf8'), '1024x1024'],
]
for (const [file, size] of images) {
  const bytes = readFileSync(file.startsWith('/') ? file : `${work}/${file}`)
  expect(bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), `${file} is a PNG`)
  const meta = await sharp(bytes).metadata()
  expect(meta.format === 'png' && `${meta.width}x${meta.height}` === size, `${file} is a ${size} PNG (got ${meta.format} ${meta.width}x${meta.height})`)
  console.log(`${file}: ${meta.width}x${meta.height} ${meta.format}, ${bytes.length} bytes`)
}
const state = JSON.parse(readFileSync(`${work}/state.json`, 'utf8'))
const amounts = state.transfers.map((t) => t.amount)
// List price x 1.05 + the $0.001 fee: infer generate (nano-banana $0.05), infer edit (gpt-image-1 $0.02),
// the tool ("flux" → grok-imagine-image $0.02), the HTTP example (nano-banana), image_generate
// (gpt-image-1 at 1536x1024, $0.04), then beside ClawRouter the tool and image_generate (nano-banana).
const expected = ['53500', '22000', '22000', '53500', '43000', '53500', '53500']
expect(state.settled === expected.length && JSON.stringify(amounts) === JSON.stringify(expected), `${expected.length} settlements: ${expected} (got ${state.settled}: ${amounts})`)
expect(state.transfers.every((t) => t.from.toLowerCase() === address.toLowerCase()), 'all paid by the throwaway wallet')
expect(viaTool.result.details.cost.transaction === state.transfers[2].transaction, 'the tool reports the settlement the sandbox made')
expect(viaProxy.cost.transaction === state.transfers[3].transaction, 'the proxy reports the settlement the sandbox made')
expect(besideClawRouter.result.details.cost.transaction === state.transfers[5].transaction, 'the tool beside ClawRouter reports the settlement the sandbox made')
const ledger = readFileSync(`${process.env.BLOCKRUN_HOME}/ledger.jsonl`, 'utf8')
expect(state.transfers.every((t) => ledger.includes(t.transaction)), 'every settlement is in the one shared ledger')
console.log(`sandbox settled ${state.settled} payments (${amounts.join(' + ')} base units) from ${address}; all in the shared ledger`)
EOF

KEY=$(tr -d '\n' <"$BLOCKRUN_HOME/wallet.key")
# Outputs, gateway logs and OpenClaw's state (config, logs) must not hold the key; only wallet.key does.
if grep -rqiF --exclude-dir=blockrun --exclude-dir=node_modules "${KEY#0x}" "$WORK" /tmp/openclaw 2>/dev/null; then fail "the wallet key appears in OpenClaw's output, logs or state"; fi
unset KEY

step "OpenClaw acceptance passed"
