import { createRequire } from 'node:module'

/** The package version, read once from package.json (two levels up from dist/server or server/). */
export const VERSION: string = (() => {
  const require = createRequire(import.meta.url)
  for (const candidate of ['../package.json', '../../package.json']) {
    try {
      const pkg = require(candidate) as { name?: string; version?: string }
      if (pkg.name === 'blockrun-imagegen' && pkg.version) return pkg.version
    } catch {
      // try the next layout
    }
  }
  return '0.0.0'
})()
