/** Percentiles and the markdown table the bench prints. */

/** The p-th percentile (nearest rank) of `values`, in their unit. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}

export function median(values: readonly number[]): number {
  return percentile(values, 50)
}

export type Row = { measure: string; value: string; target: string; met: boolean | undefined }

export function table(rows: readonly Row[]): string {
  const lines = ['| Measure | Result | Target | Met |', '|---|---|---|---|']
  for (const row of rows) lines.push(`| ${row.measure} | ${row.value} | ${row.target} | ${row.met === undefined ? '' : row.met ? 'yes' : '**no**'} |`)
  return lines.join('\n')
}

export const ms = (value: number) => `${value.toFixed(1)} ms`
