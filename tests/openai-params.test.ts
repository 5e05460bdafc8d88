/**
 * Every parameter of OpenAI's Images API, as an OpenAI-SDK user sends it, through the proxy's HTTP
 * routes: passed to the gateway where it takes it, mapped (`quality` low/medium/high/auto,
 * `size: "auto"`), reported as not applied, or refused before payment (`stream: true`, a field
 * the API does not define). What reached the gateway is seen through a relay. Also: the tools'
 * schemas refuse unknown fields, and a route asked with the wrong method answers 405.
 */
import OpenAI, { toFile } from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateImageTool } from '../plugin/tools.js'
import { GenerateRequest, EditRequest, UNSUPPORTED_OPENAI_FIELDS } from '../server/schemas.js'
import { makeImage } from './helpers/images.js'
import { stackThroughRelay, type RelayedStack } from './helpers/relay.js'

/** The parameters the openai SDK (v6) defines for images.generate and images.edit. */
const OPENAI_GENERATE = ['prompt', 'background', 'model', 'moderation', 'n', 'output_compression', 'output_format', 'partial_images', 'quality', 'response_format', 'size', 'stream', 'style', 'user']
const OPENAI_EDIT = ['image', 'prompt', 'background', 'input_fidelity', 'mask', 'model', 'n', 'output_compression', 'output_format', 'partial_images', 'quality', 'response_format', 'size', 'stream', 'user']

describe('OpenAI image parameters', () => {
  let relayed: RelayedStack
  const sent: Array<Record<string, unknown>> = []
  let imageRequests = 0

  beforeAll(async () => {
    relayed = await stackThroughRelay(() => ({
      observe: ({ method, path, body }) => {
        if (method !== 'POST' || !path.includes('/v1/images/')) return
        imageRequests++
        // Only paid requests did work; their body is what the gateway ran.
        sent.push(JSON.parse(body.toString() || '{}') as Record<string, unknown>)
      },
    }))
  })
  afterAll(async () => relayed.close())

  const lastSent = () => sent.at(-1)!

  it('every parameter OpenAI defines is known to the schema: passed, mapped or reported, never an unknown field', () => {
    for (const name of OPENAI_GENERATE) expect(Object.keys(GenerateRequest.entries), name).toContain(name)
    for (const name of OPENAI_EDIT) expect(Object.keys(EditRequest.entries), name).toContain(name)
  })

  for (const [asked, upstream] of [['high', 'hd'], ['medium', 'standard'], ['low', 'standard'], ['hd', 'hd'], ['standard', 'standard']] as const) {
    it(`quality ${asked} on cogview reaches the gateway as ${upstream}`, async () => {
      const { status, body } = await relayed.generate({ model: 'cogview', prompt: `quality ${asked}`, quality: asked })
      expect(status, JSON.stringify(body)).toBe(200)
      expect(lastSent().quality).toBe(upstream)
      if (asked === upstream) expect(body.notes).toBeUndefined()
      else expect(body.notes).toEqual([`quality ${asked} → ${upstream}: zai/cogview-4 takes quality standard or hd.`])
    })
  }

  it('quality auto is the model\'s own choice: nothing sent, nothing to report', async () => {
    const { status, body } = await relayed.generate({ model: 'cogview', prompt: 'auto quality', quality: 'auto' })
    expect(status).toBe(200)
    expect(lastSent()).not.toHaveProperty('quality')
    expect(body.notes).toBeUndefined()
  })

  it('quality high on a model without a quality setting is reported as not applied, and not sent', async () => {
    const { status, body } = await relayed.generate({ model: 'gpt-image-1', prompt: 'high quality', quality: 'high' })
    expect(status).toBe(200)
    expect(lastSent()).not.toHaveProperty('quality')
    expect(body.notes).toEqual(['quality high was not applied: openai/gpt-image-1 takes no quality setting.'])
  })

  it('size auto is the model\'s default size, and said; beside an aspect ratio, the ratio decides', async () => {
    const auto = await relayed.generate({ model: 'cogview', prompt: 'auto size', size: 'auto' })
    expect(auto.status).toBe(200)
    expect(lastSent().size).toBe('1024x1024')
    expect(auto.body.size).toBe('1024x1024')
    expect(auto.body.notes).toEqual(['size auto → 1024x1024, the default size of zai/cogview-4.'])
    const shaped = await relayed.generate({ model: 'cogview', prompt: 'auto size, wide', size: 'auto', aspect_ratio: 'landscape' })
    expect(shaped.status).toBe(200)
    expect(lastSent().size).toBe('1344x768')
  })

  it('user, partial_images and the options the gateway ignores are reported as not applied, not sent', async () => {
    const { status, body } = await relayed.generate({ prompt: 'options', user: 'user-1234', partial_images: 0, style: 'vivid', background: 'opaque', moderation: 'low', stream: false })
    expect(status, JSON.stringify(body)).toBe(200)
    for (const field of ['user', 'partial_images', 'style', 'background', 'moderation']) {
      expect(body.notes).toContain(`${field} was not applied: the gateway takes no ${field} setting.`)
      expect(lastSent()).not.toHaveProperty(field)
    }
    expect(lastSent()).not.toHaveProperty('stream')
  })

  it('stream: true is refused before anything reaches the gateway', async () => {
    const before = imageRequests
    const { status, body } = await relayed.generate({ prompt: 'streamed', stream: true })
    expect(status).toBe(400)
    expect(body.error).toMatchObject({ param: 'stream', type: 'invalid_request_error' })
    expect(body.error.message).toContain('streaming is not supported')
    expect(imageRequests).toBe(before)
  })

  it('an unknown field is refused before payment, with the fields the route takes and the likely one meant', async () => {
    const before = imageRequests
    const { status, body } = await relayed.generate({ promt: 'a typo', prompt: 'x', colour: 'red' })
    expect(status).toBe(400)
    expect(body.error).toMatchObject({ param: 'promt', code: 'unknown_field', type: 'invalid_request_error' })
    expect(body.error.message).toMatch(/^Unknown fields "promt", "colour" \(did you mean "prompt"\?\): nothing was paid\. Fields this request takes: prompt, model, size, aspect_ratio, n, quality, max_price, idempotency_key, response_format, stream, style, /)
    expect(imageRequests).toBe(before)
  })

  it('n above the model\'s limit names the model', async () => {
    const { status, body } = await relayed.generate({ model: 'nano-banana', prompt: 'many', n: 6 })
    expect(status).toBe(400)
    expect(body.error.message).toBe('google/nano-banana makes at most 4 images per request (n = 6 was asked); make several requests for more.')
  })

  it('the openai SDK: generate with quality, size auto and user; an edit with input_fidelity; an unknown multipart field is refused', async () => {
    // The proxy in front of the relay, as an OpenAI-SDK user points the SDK at it.
    const client = new OpenAI({ apiKey: 'not-used', baseURL: `${relayed.url}/v1`, maxRetries: 0 })
    const generated = (await client.images.generate({ model: 'cogview', prompt: 'through the SDK', quality: 'high', size: 'auto', user: 'u-1' })) as OpenAI.ImagesResponse & { notes?: string[] }
    expect(generated.data).toHaveLength(1)
    expect(generated.notes).toEqual(expect.arrayContaining(['size auto → 1024x1024, the default size of zai/cogview-4.', 'quality high → hd: zai/cogview-4 takes quality standard or hd.', 'user was not applied: the gateway takes no user setting.']))
    const png = await makeImage(64, 64, 'png', 3)
    const edited = (await client.images.edit({ model: 'gpt-image-1', image: await toFile(png, 'a.png', { type: 'image/png' }), prompt: 'sharper', input_fidelity: 'high' })) as OpenAI.ImagesResponse & { notes?: string[] }
    expect(edited.notes).toContain('input_fidelity was not applied: the gateway takes no input_fidelity setting.')
    const form = new FormData()
    form.append('prompt', 'x')
    form.append('image', new Blob([new Uint8Array(png)]), 'a.png')
    form.append('sharpness', '11')
    const before = imageRequests
    const refused = await fetch(`${relayed.url}/v1/images/edits`, { method: 'POST', body: form })
    expect(refused.status).toBe(400)
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/^Unknown field "sharpness": nothing was paid\. Fields this request takes: prompt, image, mask, /)
    expect(imageRequests).toBe(before)
    const fileAsPrompt = new FormData()
    fileAsPrompt.append('prompt', new Blob(['a prompt in a file']), 'prompt.txt')
    fileAsPrompt.append('image', new Blob([new Uint8Array(png)]), 'a.png')
    const prompted = await fetch(`${relayed.url}/v1/images/edits`, { method: 'POST', body: fileAsPrompt })
    expect(prompted.status).toBe(400)
    expect(((await prompted.json()) as { error: { message: string } }).error.message).toBe('prompt must be a text field, not a file; only image and mask take files.')
    expect(imageRequests).toBe(before)
  })
})

describe('the tools refuse unknown fields too', () => {
  it('generate_image advertises a closed schema and names the stray field', async () => {
    expect(generateImageTool.inputSchema.additionalProperties).toBe(false)
    for (const name of UNSUPPORTED_OPENAI_FIELDS) expect(Object.keys(generateImageTool.inputSchema.properties as object)).not.toContain(name)
    // Refused while parsing, before the core is asked anything (so none is needed here).
    const error = await generateImageTool.execute({} as never, { prompt: 'x', colour: 'red' }, {}).catch((e: unknown) => e)
    expect((error as Error).message).toMatch(/^Unknown field "colour": nothing was paid\. Fields this request takes: prompt, model, size, aspect_ratio, n, quality, max_price, idempotency_key\.$/)
  })
})

describe('a route asked with the wrong method', () => {
  let relayed: RelayedStack
  beforeAll(async () => {
    relayed = await stackThroughRelay(() => ({}))
  })
  afterAll(async () => relayed.close())

  it('answers 405 with Allow, in the OpenAI error shape; a path that does not exist stays 404', async () => {
    const base = relayed.stack.proxy.url
    const get = await fetch(`${base}/v1/images/generations`)
    expect(get.status).toBe(405)
    expect(get.headers.get('allow')).toBe('POST')
    expect(await get.json()).toEqual({ error: { message: '/v1/images/generations takes POST, not GET.', type: 'invalid_request_error', param: null, code: 'method_not_allowed' } })
    const post = await fetch(`${base}/v1/models`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    expect(post.status).toBe(405)
    expect(post.headers.get('allow')).toBe('GET, HEAD')
    expect((await fetch(`${base}/images/1234567890123-0123456789abcdef.png`, { method: 'DELETE' })).status).toBe(405)
    expect((await fetch(`${base}/v1/nothing`)).status).toBe(404)
  })
})
