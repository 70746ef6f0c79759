/**
 * "Did you mean …?" for a mistyped command: the known commands closest to what was typed, by edit distance
 * (insertions, deletions, substitutions and swaps of neighbours, as typos are made).
 */

/** Optimal string alignment distance: Levenshtein plus the transposition of two adjacent characters. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({length: a.length + 1}, (_, i) => [i, ...Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) d[0][j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1)
    }
  }
  return d[a.length][b.length]
}

/**
 * The commands worth suggesting for `typed` (words separated by spaces), closest first; none when nothing is
 * close enough to be a typo of it (at most a third of its length, and at least 2, edits away).
 */
export function suggestCommands(
  typed: string,
  commands: readonly string[],
  limit = Math.max(2, Math.floor(typed.length / 3)),
): string[] {
  const scored = commands
    .map((command) => ({command, distance: editDistance(typed, command)}))
    .filter(({distance}) => distance <= limit)
  const best = Math.min(...scored.map(({distance}) => distance))
  return scored
    .filter(({distance}) => distance === best)
    .map(({command}) => command)
    .sort()
}
