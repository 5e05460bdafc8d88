/**
 * The one small interface the front doors (CLI, MCP server, OpenClaw plugin) use. Two
 * implementations: in-process (the ImageService itself) and remote (HTTP to a proxy that already
 * runs on the port). Which one is decided once, at start (`openCore`).
 */
import type { ModelList } from '../catalog/index.js'
import type { CallOptions, ImageResult } from '../service.js'
import type { UsageReport } from '../payment/usage.js'
import type { WalletStatus } from '../wallet/status.js'

export type ImagegenCore = {
  readonly mode: 'in-process' | 'remote'
  generate(input: unknown, options?: CallOptions): Promise<ImageResult>
  edit(input: unknown, options?: CallOptions): Promise<ImageResult>
  /** The image models on offer, and from which catalog (live or bundled). */
  models(): Promise<ModelList>
  wallet(): Promise<WalletStatus>
  usage(days?: number): Promise<UsageReport>
  close(): Promise<void>
}
