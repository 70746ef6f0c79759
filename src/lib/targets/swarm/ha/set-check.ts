/**
 * The half of the Jepsen-style set check the pipeline does not do already (it proves acknowledged ⊆ final):
 * final ⊆ attempted. The API returns an id only for an acknowledged visit, so an attempt that failed may or may
 * not have committed; what can be proven is that no more rows appeared than visits were attempted. Pure.
 */
export function newRowsBeyondAttempts(
  storedIds: readonly number[],
  highestBefore: number,
  attempted: number,
): string | undefined {
  const fresh = storedIds.filter((id) => id > highestBefore).length
  if (fresh <= attempted) return undefined
  return `${fresh} new visits are stored but only ${attempted} were attempted: rows appeared that no client wrote`
}
