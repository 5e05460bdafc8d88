/**
 * The OpenClaw entry (`package.json` → `openclaw.extensions`). OpenClaw calls `register(api)`
 * several times per start (discovery, tool discovery, full activation); everything registered here
 * is inert until called. The only thing that opens a socket is the proxy service, and it starts
 * only when the gateway starts a service that came from a `full` registration.
 *
 * - service `imagegen-proxy`: the local proxy on the configured port (or a compatible one reused;
 *   or none when ClawRouter, configured in the same OpenClaw, takes that port: ./openclaw/clawrouter.ts);
 * - tools generate_image, edit_image, quote_image, list_image_models, wallet_status (shared with the
 *   MCP server), and a `before_tool_call` hook that asks the user before a paid call above the
 *   confirmation threshold;
 * - image generation provider `imagegen` for `image_generate` and `openclaw infer image ...`.
 *
 * Settings: plugin config over the `BLOCKRUN_*` environment over defaults. A config mistake is
 * logged and returned by every tool call; it never throws out of `register`.
 */
import { agentTools } from './openclaw/agent-tools.js'
import { PAID_TOOLS, ToolApprovals } from './openclaw/approvals.js'
import { clawRouterInConfig } from './openclaw/clawrouter.js'
import { loadPluginSettings } from './openclaw/config.js'
import type { OpenClawPluginApi } from './openclaw/host.js'
import { imageGenerationProvider } from './openclaw/provider.js'
import { CoreAccess } from './openclaw/runtime.js'
import { createProxyService } from './openclaw/service.js'

export const PLUGIN_ID = 'imagegen'

/** Modes whose loads cannot use runtime capabilities (OpenClaw throws on access there). */
const METADATA_ONLY = new Set(['cli-metadata', 'setup-only'])

const plugin = {
  id: PLUGIN_ID,
  name: 'BlockRun Image Generation',
  description: 'Image generation and editing paid per call in USDC from a BlockRun wallet (x402): local proxy, agent tools and an image generation provider.',
  register(api: OpenClawPluginApi): void {
    if (METADATA_ONLY.has(api.registrationMode)) return
    const loaded = loadPluginSettings(api.pluginConfig)
    const access = new CoreAccess(loaded, api.logger, clawRouterInConfig(api.config))
    const previewEdge = loaded.ok ? loaded.previewEdge : 0
    if (!loaded.ok && api.registrationMode === 'full')
      api.logger.error(`imagegen: ${loaded.error} Until it is fixed the image proxy does not start and the imagegen tools and provider report this error.`)

    // Above the confirmation threshold OpenClaw asks the user, through its own approvals (./openclaw/approvals.ts).
    const approvals = new ToolApprovals(access)
    api.on?.('before_tool_call', approvals.beforeToolCall, { matcher: [...PAID_TOOLS] })
    for (const tool of agentTools({ access, logger: api.logger, previewEdge, approvals })) api.registerTool(tool)
    api.registerImageGenerationProvider(imageGenerationProvider(access))
    // Registered in every runtime mode so `openclaw plugins inspect` lists it, but it can only
    // start from a full registration: a discovery pass must never bind the port.
    api.registerService(createProxyService(access, api.logger, { canStart: api.registrationMode === 'full' }))
  },
}

export default plugin
