export async function run(): Promise<number | void> {
  const { runMcpServer } = await import('../../../plugin/mcp.js')
  await runMcpServer()
}
