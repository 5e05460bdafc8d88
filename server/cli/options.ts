/**
 * Opening the core for a one-shot command (generate, edit, wallet, usage).
 */
import type { Settings } from '../config.js'
import { openCore, type ImagegenCore } from '../core/index.js'

export { settingsFromFlags } from './settings-flags.js'

/** The core for a one-shot command; says on stderr why a program on the port is not used, if one answers. */
export async function openCommandCore(settings: Settings): Promise<ImagegenCore> {
  const core = await openCore(settings)
  if (core.why) process.stderr.write(`imagegen: ${core.why}\n`)
  return core
}
