/**
 * (11) What knowing the price costs, next to paying: through the proxy at the bench's upstream
 * latency, the p50 of
 * - a quote the gateway answers (one unpaid request, its 402 read; nothing signed),
 * - a quote answered from the gateway's requirements of the last minutes (no upstream request),
 * - a paid image with max_price set to that quote (one paid request: the quote primed the route).
 * Each fresh quote is for a route (model, size, n) not asked before, so none is answered from memory.
 */
import { median, ms, type Row } from './stats.js'

type Body = { model: string; size: string; prompt: string; n: number }

/** Routes never asked before in this proxy: cogview's six sizes and gpt-image-1's three, n 1 to 4. */
function freshRoutes(count: number): Body[] {
  const routes: Body[] = []
  for (const [model, sizes] of [['zai/cogview-4', ['1024x1024', '512x512', '768x768', '768x1344', '1344x768', '1440x1440']], ['openai/gpt-image-1', ['1024x1024', '1536x1024', '1024x1536']]] as const)
    for (const size of sizes) for (let n = 1; n <= 4; n++) routes.push({ model, size, n, prompt: `bench quote ${routes.length}` })
  return routes.slice(0, count)
}

async function post(url: string, body: unknown): Promise<{ status: number; body: any; ms: number }> {
  const t0 = performance.now()
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const json = (await response.json()) as any
  return { status: response.status, body: json, ms: performance.now() - t0 }
}

export async function quoteLatency(proxyUrl: string, rows: Row[], { latency, count = 24 }: { latency: number; count?: number }): Promise<void> {
  const fresh: number[] = []
  const cached: number[] = []
  const paid: number[] = []
  let mismatches = 0
  for (const route of freshRoutes(count)) {
    const first = await post(`${proxyUrl}/v1/images/quote`, route)
    if (first.status !== 200 || first.body.source !== 'upstream') throw new Error(`bench quote: ${first.status} ${JSON.stringify(first.body).slice(0, 300)}`)
    fresh.push(first.ms)
    const again = await post(`${proxyUrl}/v1/images/quote`, route)
    if (again.body.source !== 'cached') throw new Error(`bench quote: the second quote was not answered from the requirements (${again.body.source})`)
    cached.push(again.ms)
    // Only n = 1 is paid (the cap allows every single image); the rest are quoted.
    if (route.n !== 1) continue
    const image = await post(`${proxyUrl}/v1/images/generations`, { ...route, max_price: first.body.usd.slice(1) })
    if (image.status !== 200) throw new Error(`bench quote: paid image ${image.status} ${JSON.stringify(image.body).slice(0, 300)}`)
    if (image.body.cost?.amount !== first.body.amount) mismatches++
    paid.push(image.ms)
  }
  rows.push({
    measure: `(11) quote vs paid image at ${latency} ms, p50: a quote the gateway answers / one from its recent requirements / a paid image with max_price at the quote`,
    value: `${ms(median(fresh))} / ${ms(median(cached))} / ${ms(median(paid))} (${fresh.length} quotes, ${paid.length} images)`,
    target: 'quote < paid image; paid = quoted',
    met: median(fresh) < median(paid) && mismatches === 0,
  })
}
