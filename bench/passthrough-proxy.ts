/**
 * The least a proxy can be: node:http in, node:http out over a keep-alive agent, bodies piped both
 * ways, nothing read, checked, paid or stored. The bench sends the direct client through it to
 * measure what one extra local HTTP hop costs on this machine, the floor under the proxy's own
 * overhead in (3).
 *
 *   node passthrough-proxy.js <upstream url>   → prints "listening on http://127.0.0.1:<port>"
 */
import { Agent, createServer, request } from 'node:http'

const upstream = new URL(process.argv[2] ?? '')
// Idle sockets close after 4 s, as in the proxy's own upstream client (server/upstream/http-client.ts).
const agent = new Agent({ keepAlive: true, timeout: 4000, scheduling: 'lifo' })

const server = createServer((incoming, answer) => {
  const outgoing = request(
    { host: upstream.hostname, port: upstream.port, path: incoming.url, method: incoming.method, headers: { ...incoming.headers, host: upstream.host }, agent },
    (response) => {
      answer.writeHead(response.statusCode ?? 502, response.headers)
      response.once('error', () => answer.destroy())
      response.pipe(answer)
    },
  )
  // A failure on either side ends both; the bench's client then fails loudly.
  outgoing.once('error', () => answer.destroy())
  incoming.once('error', () => outgoing.destroy())
  answer.once('error', () => outgoing.destroy())
  incoming.pipe(outgoing)
})

server.listen(0, '127.0.0.1', () => {
  const address = server.address()
  if (address && typeof address === 'object') process.stderr.write(`listening on http://127.0.0.1:${address.port}\n`)
})
process.once('SIGTERM', () => process.exit(0))
