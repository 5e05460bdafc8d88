/**
 * A real headless browser for the gallery's tests and bench: Debian's Chromium
 * (`apt-get install chromium`, which .ci/run does), driven by playwright-core. Playwright's own
 * browser download is never used (no network here); the flags keep Chromium off the network it
 * would otherwise try at start.
 */
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser } from 'playwright-core'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** Why no browser test can run here, or undefined when one can. */
export const chromiumUnavailable: string | undefined = existsSync(CHROMIUM) ? undefined : `no Chromium at ${CHROMIUM} (apt-get install chromium; .ci/run installs it)`

/** Screenshots and other artifacts of the browser tests (gitignored). */
export const ARTIFACTS = fileURLToPath(new URL('../../.artifacts/', import.meta.url))

export async function artifactPath(name: string): Promise<string> {
  await mkdir(ARTIFACTS, { recursive: true })
  return join(ARTIFACTS, name)
}

/** Headless Chromium with a fresh profile (Playwright makes one per launch) and no background networking. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
}
