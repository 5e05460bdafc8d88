/**
 * Edit inputs (reference images and a mask) arrive as URLs, paths, data URIs, raw base64 or this
 * proxy's own `/images` URLs. The resolver turns them into what the upstream's image2image route
 * takes (data URIs of checked, cleaned images under the gateway's size cap, kept as bytes until
 * the request body streams them), or refuses them with a 400 before anything is uploaded or paid.
 * This interface is what ImageService depends on; `createInputResolver` (./index.ts) implements it.
 */
import type { InlineData } from '../upstream/request-body.js'

export type ResolvedInputs = {
  /** In the order given. */
  images: InlineData[]
  mask?: InlineData | undefined
  /** What was changed on the way (an image downscaled, re-encoded), for the caller to see. */
  notes: string[]
}

export type ResolveParameters = {
  /** One or more image references; with a mask, exactly one (edit-rules.ts checks that first). */
  images: readonly string[]
  mask?: string | undefined
  signal?: AbortSignal | undefined
  /** Base URL this proxy hands out for stored images (http://127.0.0.1:8402); such URLs are read from the store. */
  ownBaseUrl?: string | undefined
}

export interface InputResolver {
  resolve(parameters: ResolveParameters): Promise<ResolvedInputs>
}
