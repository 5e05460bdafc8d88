/**
 * Edit inputs (image and mask) arrive as URLs, paths, data URIs, raw base64 or this proxy's own
 * `/images` URLs. The resolver turns them into what the upstream's image2image route takes (data
 * URIs of checked images, kept as bytes until the request body streams them), or refuses them
 * with a 400 before anything is uploaded or paid. This interface is what ImageService depends on;
 * `createInputResolver` (./index.ts) implements it.
 */
import type { InlineData } from '../upstream/request-body.js'

export type ResolvedInputs = { image: InlineData; mask?: InlineData | undefined }

export type ResolveParameters = {
  image: string
  mask?: string | undefined
  signal?: AbortSignal | undefined
  /** Base URL this proxy hands out for stored images (http://127.0.0.1:8402); such URLs are read from the store. */
  ownBaseUrl?: string | undefined
}

export interface InputResolver {
  resolve(parameters: ResolveParameters): Promise<ResolvedInputs>
}
