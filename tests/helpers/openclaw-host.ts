/**
 * The built OpenClaw entry (dist/plugin/openclaw.js, the bundle) loaded the way OpenClaw loads it,
 * with a recording stand-in for the host's `api` object. The stand-in is a test double for
 * OpenClaw, not for our code; the real host is exercised by tests/acceptance/openclaw.sh.
 */
import { createServer, type Server } from 'node:http'
import { connect } from 'node:net'
import { join } from 'node:path'

export const ROOT = join(import.meta.dirname, '..', '..')
export const ENTRY = join(ROOT, 'dist/plugin/openclaw.js')

export type Registered = {
  tools: any[]
  services: any[]
  providers: any[]
  hooks: Array<{ name: string; handler: any; options: any }>
  logs: Array<{ level: string; message: string }>
}

/**
 * A recording stand-in for OpenClaw's plugin API. `config` is the whole OpenClaw config
 * (`api.config`), where the plugin looks for ClawRouter.
 */
export function fakeApi(registrationMode: string, pluginConfig: Record<string, unknown> = {}, config: Record<string, unknown> = {}) {
  const registered: Registered = { tools: [], services: [], providers: [], hooks: [], logs: [] }
  const log = (level: string) => (message: string) => registered.logs.push({ level, message })
  const api = {
    id: 'imagegen',
    registrationMode,
    config,
    pluginConfig,
    logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
    registerTool: (tool: unknown) => registered.tools.push(tool),
    registerService: (service: unknown) => registered.services.push(service),
    registerImageGenerationProvider: (provider: unknown) => registered.providers.push(provider),
    on: (name: string, handler: unknown, options?: unknown) => registered.hooks.push({ name, handler, options }),
  }
  return { api, registered }
}

export async function loadEntry(): Promise<{ id: string; name: string; description: string; register(api: unknown): void }> {
  return (await import(ENTRY)).default
}

/** True when something accepts TCP connections on the port. */
export function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

export async function listen(handler: Parameters<typeof createServer>[1], port: number): Promise<Server> {
  const server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  return server
}

export const close = (server: Server) => new Promise((resolve) => server.close(resolve))
