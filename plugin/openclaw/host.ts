/**
 * The slice of OpenClaw's plugin API this plugin uses, written out structurally.
 *
 * Why not import `openclaw/plugin-sdk`: OpenClaw needs Node 24 and is never a dependency of this
 * package (CI runs Node 20, and the host supplies its own API object at runtime). These types
 * mirror openclaw@2026.9.6's `OpenClawPluginApi`, `AnyAgentTool` and `ImageGenerationProvider`
 * closely enough that the real host accepts what we register; the acceptance script checks that
 * against the real host.
 */

export type PluginLogger = {
  debug?: (message: string) => void
  info: (message: string) => void
  warn: (message: string) => void
  error: (message: string) => void
}

export type RegistrationMode = 'full' | 'discovery' | 'tool-discovery' | 'setup-only' | 'setup-runtime' | 'cli-metadata'

export type TextContent = { type: 'text'; text: string }
export type ImageContent = { type: 'image'; data: string; mimeType: string }

export type AgentToolResult = {
  content: Array<TextContent | ImageContent>
  details: unknown
  /** Channel-safe progress for partial updates; never shown to the model. */
  progress?: { text: string; visibility: 'channel'; privacy: 'public'; id?: string }
}

export type AgentTool = {
  name: string
  label: string
  description: string
  /** JSON Schema of the parameters (OpenClaw accepts plain JSON Schema as well as TypeBox). */
  parameters: Record<string, unknown>
  execute(toolCallId: string, params: unknown, signal?: AbortSignal, onUpdate?: (partial: AgentToolResult) => void): Promise<AgentToolResult>
}

export type ServiceContext = {
  /** The OpenClaw config (`OpenClawConfig`), as at the service's start. */
  config?: unknown
  stateDir?: string
  logger?: PluginLogger
  serviceHealth?: { reportFailure(error: unknown): void; clearFailure(): void }
}

export type PluginService = {
  id: string
  start(ctx: ServiceContext): void | Promise<void>
  stop?(ctx: ServiceContext): void | Promise<void>
}

export type SourceImage = { buffer: Buffer; mimeType: string; fileName?: string }

export type ImageGenerationRequest = {
  provider: string
  model: string
  prompt: string
  timeoutMs?: number
  count?: number
  size?: string
  aspectRatio?: string
  resolution?: '1K' | '2K' | '4K'
  quality?: string
  outputFormat?: string
  background?: string
  inputImages?: SourceImage[]
}

export type GeneratedImage = { buffer: Buffer; mimeType: string; fileName?: string; revisedPrompt?: string; metadata?: Record<string, unknown> }

export type ImageGenerationResult = { images: GeneratedImage[]; model?: string; metadata?: Record<string, unknown> }

export type ImageGenerationProvider = {
  id: string
  label?: string
  defaultModel?: string
  defaultTimeoutMs?: number
  models?: string[]
  capabilities: {
    generate: { maxCount?: number; supportsSize?: boolean; supportsAspectRatio?: boolean; supportsResolution?: boolean }
    edit: {
      enabled: boolean
      maxCount?: number
      maxInputImages?: number
      /** Per model id; OpenClaw checks a request's `inputImages` against it before calling. */
      maxInputImagesByModel?: Record<string, number>
      supportsSize?: boolean
      supportsAspectRatio?: boolean
      supportsResolution?: boolean
    }
    geometry?: {
      sizes?: string[]
      sizesByModel?: Record<string, string[]>
      aspectRatios?: string[]
      aspectRatiosByModel?: Record<string, string[]>
      resolutions?: Array<'1K' | '2K' | '4K'>
      resolutionsByModel?: Record<string, Array<'1K' | '2K' | '4K'>>
    }
    output?: { qualities?: string[]; qualitiesByModel?: Record<string, string[]> }
  }
  isConfigured?(ctx: unknown): boolean
  generateImage(req: ImageGenerationRequest): Promise<ImageGenerationResult>
}

/** `before_tool_call` (OpenClaw's docs/plugins/hooks/tool-policy.md): only the fields this plugin reads and returns. */
export type BeforeToolCallEvent = { toolName: string; params: Record<string, unknown>; toolCallId?: string }
export type BeforeToolCallContext = { abortSignal?: AbortSignal }
export type ApprovalDecision = 'allow-once' | 'allow-always' | 'deny' | 'timeout' | 'cancelled'
export type BeforeToolCallResult = {
  requireApproval: {
    title: string
    description: string
    severity: 'warning'
    timeoutMs: number
    allowedDecisions: Array<'allow-once' | 'deny'>
    onResolution: (decision: ApprovalDecision) => void
  }
}

/** What `register(api)` receives. Only the members this plugin touches. */
export type OpenClawPluginApi = {
  id: string
  registrationMode: RegistrationMode
  /** The whole OpenClaw config (`OpenClawConfig`): read only to find ClawRouter (./clawrouter.ts). */
  config?: unknown
  pluginConfig?: Record<string, unknown>
  logger: PluginLogger
  registerTool(tool: AgentTool, options?: { name?: string; optional?: boolean }): void
  registerService(service: PluginService): void
  registerImageGenerationProvider(provider: ImageGenerationProvider): void
  /** Typed lifecycle hooks (OpenClaw's docs/plugins/hooks.md); absent in hosts before them. */
  on?(hookName: 'before_tool_call', handler: (event: BeforeToolCallEvent, ctx?: BeforeToolCallContext) => Promise<BeforeToolCallResult | undefined>, options?: { matcher?: readonly [string, ...string[]]; priority?: number }): void
}
