/**
 * The parts of @modelcontextprotocol/sdk the MCP server uses, in one module: one place that names
 * them (types included) for the sources, and, in the bundle (scripts/build.mjs), a single import
 * point, so only what these exports reach of the SDK, zod and ajv goes into the MCP chunk.
 */
export { Server } from '@modelcontextprotocol/sdk/server/index.js'
export { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js'
export {
  CallToolRequestSchema,
  ErrorCode,
  InitializeRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
} from '@modelcontextprotocol/sdk/types.js'
export type {
  CallToolRequest,
  CallToolResult,
  InitializeRequest,
  InitializeResult,
  ListResourcesResult,
  ListResourceTemplatesResult,
  ReadResourceResult,
  Resource,
  ServerNotification,
  Tool,
} from '@modelcontextprotocol/sdk/types.js'
