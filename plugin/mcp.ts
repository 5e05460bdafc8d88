export async function runMcpServer(): Promise<void> { throw new Error('not yet') }
