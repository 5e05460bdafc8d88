/**
 * `imagegen mcp`: the stdio MCP server over the shared tool definitions (plugin/tools.ts).
 *
 * Built on the SDK's low-level `Server`, because it takes JSON Schema and our schemas are valibot
 * (McpServer takes zod only). Starting must be fast, since clients spawn the server and list tools
 * at once: the core (wallet via viem, x402, ledger) is opened on the first tools/call and sharp only
 * when a preview is rendered, so `tools/list` loads nothing but the SDK, valibot and the catalog.
 *
 * stdout carries the protocol and nothing else; every log line goes to stderr.
 */
import {
  CallToolRequestSchema,
  ErrorCode,
  InitializeRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  Server,
  StdioServerTransport,
  type CallToolRequest,
  type CallToolResult,
  type InitializeRequest,
  type InitializeResult,
  type ServerNotification,
  type Tool,
} from './mcp-sdk.js'
import { resolveSettings, settingsFromEnv, type Settings, type SettingsInput } from '../server/config.js'
import { settingCulprit } from '../server/cli/settings-flags.js'
import type { ImagegenCore } from '../server/core/index.js'
import { ImagegenError } from '../server/errors.js'
import { VERSION } from '../server/version.js'
import { consentQuestion, type Confirm } from '../server/core/consent.js'
import { errorResult, renderResult, supportsResourceLinks } from './mcp/render.js'
import { plainInputSchema } from './mcp/schema.js'
import { progressReporter } from './mcp/progress.js'
import { listResources, readResource, RESOURCE_TEMPLATES } from './mcp/resources.js'
import { previewSettingFrom, type PreviewSetting } from './preview.js'
import { findTool, TOOLS } from './tools.js'

export const MCP_SERVER_NAME = 'blockrun-imagegen'

const INSTRUCTIONS =
  "Image generation and editing, paid per image in USDC from the user's BlockRun wallet. " +
  'Use list_image_models for prices and sizes, quote_image for the exact price of a call (free), generate_image to make images, edit_image to change one ' +
  '(pass the path or URL of an earlier result as is), wallet_status for balance and budget. ' +
  'Every result names each image by absolute file path and URL: show or link them to the user. ' +
  'The resources (imagegen://images/<file>) are the images made so far, newest first, each with its receipt; the gallery page is at http://127.0.0.1:<port>/ (imagegen gallery).'

/** How long the user has to answer a payment confirmation. */
const CONSENT_TIMEOUT_MS = 10 * 60 * 1000

/** How much longer than the upstream deadline a whole call may take (inputs, storing, previews). */
const CALL_DEADLINE_MARGIN_MS = 30_000

export type McpServerOptions = {
  env?: NodeJS.ProcessEnv
  /** Settings from `imagegen mcp`'s flags, over the environment's. */
  settings?: SettingsInput
  log?: (line: string) => void
}

/** Runs the server on stdin/stdout until the client goes away; resolves once shut down. */
export async function runMcpServer({ env = process.env, log = stderrLog, settings }: McpServerOptions = {}): Promise<void> {
  keepStdoutForProtocol()
  const { server, close } = createMcpServer({ env, log, ...(settings ? { settings } : {}) })
  const transport = new StdioServerTransport()

  let done!: () => void
  const finished = new Promise<void>((resolve) => (done = resolve))
  let closing = false
  const shutdown = async (reason: string) => {
    if (closing) return
    closing = true
    log(`stopping (${reason})`)
    await server.close().catch(() => {})
    await close()
    done()
    // In-flight fetches may hold sockets open; nothing is left to serve, so do not linger.
    setTimeout(() => process.exit(process.exitCode ?? 0), 1500).unref()
  }
  process.stdin.once('end', () => void shutdown('stdin closed'))
  process.stdout.once('error', () => void shutdown('stdout closed'))
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void shutdown(signal))
  server.onclose = () => void shutdown('transport closed')

  await server.connect(transport)
  log(`imagegen ${VERSION} MCP server ready on stdio`)
  await finished
}

export type CreatedMcpServer = {
  server: Server
  /** Aborts calls in flight and closes the core (ledger) if it was opened. */
  close(): Promise<void>
}

/** The MCP server with its handlers, not yet connected to a transport. */
export function createMcpServer({ env = process.env, log = stderrLog, settings: flags = {} }: McpServerOptions = {}): CreatedMcpServer {
  const preview = previewSettingFrom(env.IMAGEGEN_MCP_PREVIEW, log)
  const settings = loadSettings(env, flags, log)
  const core = lazyCore(settings, log)
  const inFlight = new AbortController()
  const running = new Set<Promise<unknown>>()
  // Built once: the schemas are checked (plain, no $ref) at start, not on every list.
  const tools: Tool[] = TOOLS.map((tool) => ({
    name: tool.name,
    title: tool.title,
    description: tool.description,
    inputSchema: plainInputSchema(tool.inputSchema, tool.name),
    annotations: { title: tool.title, ...tool.annotations },
  }))

  const server = new Server({ name: MCP_SERVER_NAME, title: 'BlockRun image generation', version: VERSION }, { capabilities: { tools: {}, resources: { listChanged: true } }, instructions: INSTRUCTIONS })

  // The protocol version agreed at initialize decides which content blocks a result may carry:
  // an older client refuses a whole result over one block type it does not know, and by then the
  // image is paid for. The SDK's own initialize handler does the negotiating; this only reads its
  // answer. If a future SDK renames that handler, the version stays unknown and results keep to
  // the blocks every version has.
  let protocolVersion: string | undefined
  const sdkInitialize = (server as unknown as { _oninitialize?: (request: InitializeRequest) => Promise<InitializeResult> })._oninitialize
  if (typeof sdkInitialize === 'function') {
    server.setRequestHandler(InitializeRequestSchema, async (request) => {
      const result = await sdkInitialize.call(server, request)
      protocolVersion = result.protocolVersion
      return result
    })
  }

  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools }))

  // The gallery for agents (plugin/mcp/resources.ts): opening the core is left to the first ask, as for tools.
  server.setRequestHandler(ListResourcesRequestSchema, async (request) => listResources(await core.get(), request.params?.cursor))
  server.setRequestHandler(ListResourceTemplatesRequestSchema, async () => RESOURCE_TEMPLATES)
  server.setRequestHandler(ReadResourceRequestSchema, async (request) => {
    const opened = await core.get()
    if (settings instanceof ImagegenError) throw settings
    return readResource(opened, settings.home, request.params.uri)
  })

  server.setRequestHandler(CallToolRequestSchema, (request, extra) => {
    const call = callTool(request, extra)
    running.add(call)
    const forget = () => void running.delete(call)
    call.then(forget, forget)
    return call
  })

  async function callTool(request: CallToolRequest, extra: { signal: AbortSignal; sendNotification: (n: ServerNotification) => Promise<void> }): Promise<CallToolResult> {
    const tool = findTool(request.params.name)
    if (!tool) throw new McpError(ErrorCode.InvalidParams, `Unknown tool "${request.params.name}". Tools: ${TOOLS.map((t) => t.name).join(', ')}.`)
    const progress = progressReporter({
      token: request.params._meta?.progressToken,
      send: (params) => extra.sendNotification({ method: 'notifications/progress', params }),
      onSendError: (error) => log(`progress notification failed: ${error instanceof Error ? error.message : String(error)}`),
    })
    // The client's cancellation (notifications/cancelled, also sent when its own timeout fires) is
    // the caller leaving: a paid call, which carries a key, runs on and keeps its image for the
    // retry (tools.ts). Our own shutdown stops every call. The core bounds the upstream wait
    // (BLOCKRUN_TIMEOUT_SECONDS) with its own message; the outer deadline, a little later, also
    // bounds what the core does not time (a proxy that hangs).
    const stops = [inFlight.signal]
    if (!(settings instanceof ImagegenError)) stops.push(AbortSignal.timeout(settings.upstreamTimeoutMs + CALL_DEADLINE_MARGIN_MS))
    const stop = AbortSignal.any(stops)
    const signal = AbortSignal.any([extra.signal, stop])
    let opened: ImagegenCore | undefined
    try {
      opened = await core.get()
      const output = await tool.execute(opened, request.params.arguments ?? {}, { signal, stop, onProgress: (p) => progress.update(p), confirm: consentAsker(signal) })
      // A new image is a new resource.
      if (output.images.length) void server.sendResourceListChanged().catch(() => {})
      return await renderResult(output, { preview, note: urlNote(opened, settings), resourceLinks: supportsResourceLinks(protocolVersion), log })
    } catch (error) {
      if (extra.signal.aborted) log(`${tool.name} cancelled by the client`)
      if (opened) core.afterError(opened, error)
      return errorResult(error, log)
    } finally {
      progress.stop()
    }
  }

  /**
   * Asks the user, through the client, to consent to a price above BLOCKRUN_CONFIRM_ABOVE (MCP
   * elicitation, form mode with no fields: accept or decline). Undefined for clients that cannot
   * be asked: the call is then refused with the price. The question goes to the user, never to
   * the model, so an agent cannot consent for them.
   */
  function consentAsker(signal: AbortSignal): Confirm | undefined {
    if (!server.getClientCapabilities()?.elicitation) return undefined
    return async (quote) => {
      try {
        const answer = await server.elicitInput(
          { mode: 'form', message: consentQuestion(quote), requestedSchema: { type: 'object', properties: {} } },
          { signal, timeout: CONSENT_TIMEOUT_MS },
        )
        log(`payment of ${quote.amount} base units ${answer.action === 'accept' ? 'confirmed' : `not confirmed (${answer.action})`} by the user`)
        return answer.action === 'accept'
      } catch (error) {
        log(`the user could not be asked to confirm a payment: ${error instanceof Error ? error.message : String(error)}`)
        return false
      }
    }
  }

  return {
    server,
    async close() {
      inFlight.abort(new DOMException('The MCP server is shutting down.', 'AbortError'))
      // Let aborted calls record their outcome in the ledger before it closes (bounded: we are exiting).
      await Promise.race([Promise.allSettled([...running]), new Promise((resolve) => setTimeout(resolve, 1000).unref())])
      await core.close()
    },
  }
}

/**
 * Settings from the environment. A bad value does not stop the server: tools are still listed, and
 * every call answers with the message naming the setting, so the agent can tell the user what to fix.
 */
function loadSettings(env: NodeJS.ProcessEnv, flags: SettingsInput, log: (line: string) => void): Settings | ImagegenError {
  try {
    return resolveSettings(flags, settingsFromEnv(env))
  } catch (error) {
    // Named as the user wrote it: the flag in the server entry's args, or the variable in its env.
    const culprit = settingCulprit(flags, settingsFromEnv(env), env)
    const message = `imagegen is misconfigured: ${error instanceof Error ? error.message : String(error)}${culprit}. Fix the flags or the BLOCKRUN_* environment of the MCP server and restart it.`
    log(message)
    return new ImagegenError({ status: 500, type: 'server_error', code: 'bad_configuration', message })
  }
}

type LazyCore = {
  get(): Promise<ImagegenCore>
  /** After a failed call: a proxy that went away or stopped proving it is ours is decided afresh next call. */
  afterError(failed: ImagegenCore, error: unknown): void
  close(): Promise<void>
}

/**
 * Opens the core on first use, once: a proxy answering on the port (ours) or the pipeline in this
 * process, over the same home. Concurrent first calls share one opening; a failed opening (say a
 * malformed wallet file) is reported and retried on the next call, after the user fixed it.
 */
function lazyCore(settings: Settings | ImagegenError, log: (line: string) => void): LazyCore {
  let opening: Promise<ImagegenCore> | undefined
  let opened: ImagegenCore | undefined
  return {
    get() {
      if (settings instanceof ImagegenError) return Promise.reject(settings)
      opening ??= (async () => {
        const { openCore } = await import('../server/core/index.js')
        const core = await openCore(settings)
        log(
          core.mode === 'remote'
            ? `using the imagegen proxy at http://127.0.0.1:${settings.port} (it proved it holds our token and wallet)`
            : (core.why ?? `no proxy on port ${settings.port}; running in-process with home ${settings.home}`),
        )
        opened = core
        return core
      })().catch((error: unknown) => {
        opening = undefined
        if (error instanceof ImagegenError) throw error
        const message = error instanceof Error ? error.message : String(error)
        log(`could not start the image core: ${message}`)
        throw new ImagegenError({ status: 500, type: 'server_error', code: 'core_unavailable', message: `imagegen could not start: ${message}`, cause: error })
      })
      return opening
    },
    afterError(failed, error) {
      const code = (error as { code?: unknown } | undefined)?.code
      // A remote core holds nothing to close.
      if (failed === opened && failed.mode === 'remote' && (code === 'proxy_unreachable' || code === 'proxy_not_proven')) opening = opened = undefined
    },
    async close() {
      const current = opening
      opening = undefined
      if (current) await (await current.catch(() => undefined))?.close()
    },
  }
}

/**
 * Where result URLs work: in-process, they point at the proxy port, served only while a proxy of
 * ours runs there; when another program holds the port (or the port is 0) they are the files'
 * own file:// URLs, so only the paths count.
 */
function urlNote(core: ImagegenCore, settings: Settings | ImagegenError): string | undefined {
  if (core.mode === 'remote' || settings instanceof ImagegenError) return undefined
  if (core.why) return core.filesOnly ? `Open the file paths, not the URLs: ${core.why}` : `The URLs are served by the proxy of ours on port ${settings.port}; ${core.why}`
  if (settings.port === 0) return undefined
  return `The URLs are served while \`imagegen serve\` runs on port ${settings.port}; the file paths work now.`
}

function stderrLog(line: string): void {
  process.stderr.write(`imagegen mcp: ${line}\n`)
}

/** A stray console.log anywhere in the process would corrupt the JSON-RPC stream: send it to stderr. */
function keepStdoutForProtocol(): void {
  const toStderr = (...args: unknown[]) => console.error(...args)
  console.log = toStderr
  console.info = toStderr
  console.debug = toStderr
}
