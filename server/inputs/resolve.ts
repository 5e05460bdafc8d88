/**
 * Edit inputs (image and mask) arrive as URLs, paths, data URIs or our own `/images` URLs. The
 * resolver turns them into what the upstream's image2image route takes. Completed in the editing
 * work; this interface is what ImageService depends on.
 */
export type ResolvedInputs = { image: string; mask?: string | undefined }

export interface InputResolver {
  resolve(parameters: { image: string; mask?: string | undefined; signal?: AbortSignal | undefined }): Promise<ResolvedInputs>
}
