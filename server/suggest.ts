/**
 * "Did you mean …?" for a misspelt name (a flag, a request field): the known name closest by edit
 * distance, when it is close enough to be a typo rather than another word.
 */

/** The candidate nearest to `word`, within a third of its length (at least 1, at most 3 edits). */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const target = word.toLowerCase()
  const limit = Math.min(3, Math.max(1, Math.floor(target.length / 3)))
  let best: { name: string; distance: number } | undefined
  for (const name of candidates) {
    const distance = editDistance(target, name.toLowerCase())
    if (distance <= limit && (!best || distance < best.distance)) best = { name, distance }
  }
  return best?.name
}

/** Levenshtein distance, with a swap of two neighbours counted as one edit (Damerau, restricted). */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) rows[0]![j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1)
      rows[i]![j] = d
    }
  }
  return rows[a.length]![b.length]!
}
