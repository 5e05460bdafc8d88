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
const agent = new Agent({ keepAlive: true, scheduling: 'lifo' })

const server = createServer((incoming, answer) => {
  const outgoing = request(
    { host: upstream.hostname, port: upstream.port, path: incoming.url, method: incoming.method, headers: { ...incoming.headers, host: upstream.host }, agent },
    (response) => {
      answer.writeHead(response.statusCode ?? 502, response.headers)
      response.pipe(answer)
    },
  )
  outgoing.once('error', () => answer.destroy())
  incoming.pipe(outgoing)
})

server.listen(0, '127.0.0.1', () => {
  const address = server.address()
  if (address && typeof address === 'object') process.stderr.write(`listening on http://127.0.0.1:${address.port}\n`)
})
process.once('SIGTERM', () => process.exit(0))
