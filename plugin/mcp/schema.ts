/**
 * Tool input schemas as MCP clients want them: plain JSON Schema objects. Strict clients refuse
 * `$ref`/`$defs`, and some validators (draft-04 rules) refuse an empty `required` array, so the
 * advertised copy drops empty `required` lists and refuses references outright: a schema change
 * that introduces one fails at start (and in the tests) instead of in somebody's client.
 */
export type JsonSchemaObject = { type: 'object'; properties?: Record<string, object>; required?: string[]; [key: string]: unknown }

const REFERENCE_KEYS = new Set(['$ref', '$defs', 'definitions', '$dynamicRef', '$id', '$schema'])

export function plainInputSchema(schema: Record<string, unknown>, toolName: string): JsonSchemaObject {
  if (schema.type !== 'object') throw new Error(`tool ${toolName}: input schema must be a JSON Schema object`)
  return clean(schema, toolName) as JsonSchemaObject
}

function clean(value: unknown, toolName: string): unknown {
  if (Array.isArray(value)) return value.map((item) => clean(item, toolName))
  if (value === null || typeof value !== 'object') return value
  const out: Record<string, unknown> = {}
  for (const [key, child] of Object.entries(value)) {
    if (REFERENCE_KEYS.has(key)) {
      if (key === '$schema') continue
      throw new Error(`tool ${toolName}: input schema uses "${key}"; MCP clients need it inlined`)
    }
    if (key === 'required' && Array.isArray(child) && child.length === 0) continue
    out[key] = clean(child, toolName)
  }
  return out
}
