/**
 * The parts of @modelcontextprotocol/sdk the MCP server uses, in one module. `npm run build`
 * compiles this file and then replaces its output with an esbuild bundle of the same exports
 * (dist/plugin/mcp-sdk.js): the SDK, zod and ajv as one file import in about 60 ms instead of
 * about 190 ms as several hundred ESM files, which is most of `imagegen mcp`'s cold start on
 * Node 20. Types come from the SDK itself, through this file.
 */
export { Server } from '@modelcontextprotocol/sdk/server/index.js'
export { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js'
export { CallToolRequestSchema, ErrorCode, InitializeRequestSchema, ListToolsRequestSchema, McpError } from '@modelcontextprotocol/sdk/types.js'
export type { CallToolRequest, CallToolResult, InitializeRequest, InitializeResult, ServerNotification, Tool } from '@modelcontextprotocol/sdk/types.js'
