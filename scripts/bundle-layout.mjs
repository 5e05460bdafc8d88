/**
 * Where the bundle lives in dist/: one list for the build, the package's `files`, the .mcpb packer
 * and the tests that check them.
 */

/** The entry points, and the file each becomes (tsc's copy of it is replaced). */
export const BUNDLE_ENTRIES = [
  { source: 'server/cli/index.ts', output: 'dist/server/cli/index.js' },
  { source: 'plugin/openclaw.ts', output: 'dist/plugin/openclaw.js' },
]

/** The chunks the entries share and load lazily, under dist/. */
export const CHUNK_DIR = 'chunks'

/** esbuild's metafile, under dist/ (not shipped). */
export const META_FILE = 'bundle-meta.json'

/** Licenses of the bundled packages, under dist/ (shipped). */
export const NOTICES_FILE = 'THIRD-PARTY-NOTICES.md'
