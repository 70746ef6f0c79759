/**
 * The judgements of seeding the HA members from a single db's data (ha/seed.ts), pure and unit-tested: whether
 * the single db's data directory can be run by the Patroni image's PostgreSQL (pg_controldata of both), and
 * whether the seeded leader holds exactly the visits the single db held.
 */

/** The pg_controldata fields a server checks against its own build before it starts on a data directory. */
export const BINARY_FIELDS = [
  'pg_control version number',
  'Catalog version number',
  'Database block size',
  'Blocks per segment of large relation',
  'WAL block size',
  'Bytes per WAL segment',
  'Maximum data alignment',
  'Maximum length of identifiers',
  'Maximum columns in an index',
  'Date/time type storage',
  'Float8 argument passing',
] as const

/** pg_controldata's `Name: value` lines → a map. */
export function parseControlData(text: string): Map<string, string> {
  const fields = new Map<string, string>()
  for (const line of text.split('\n')) {
    const at = line.indexOf(':')
    if (at > 0) fields.set(line.slice(0, at).trim(), line.slice(at + 1).trim())
  }
  return fields
}

/**
 * Why the seed's data directory cannot be run by the image's server (one reason per field that differs or is
 * missing on the seed's side), empty when it can. `image` is pg_controldata of a directory the image made itself.
 */
export function controlDataProblems(seed: Map<string, string>, image: Map<string, string>): string[] {
  const problems: string[] = []
  for (const field of BINARY_FIELDS) {
    const theirs = image.get(field)
    if (theirs === undefined) continue // a field this PostgreSQL does not print: nothing to compare
    const ours = seed.get(field)
    if (ours !== theirs)
      problems.push(`${field} ${ours ?? 'unreadable'} (the Patroni image's PostgreSQL has ${theirs})`)
  }
  return problems
}

/** What the proof compares: the number of visits and the highest visit id. */
export interface VisitFacts {
  count: number
  maxId: number
}

/** `count|maxId` as the proof's query prints it. */
export function parseVisitFacts(text: string): VisitFacts | undefined {
  const match = /^(\d+)\|(\d+)$/.exec(text.trim())
  return match ? {count: Number(match[1]), maxId: Number(match[2])} : undefined
}

export const VISIT_FACTS_SQL = `SELECT CASE WHEN to_regclass('public.visits') IS NULL THEN '0|0' ELSE (SELECT count(*) || '|' || coalesce(max(id), 0) FROM visits) END`

/** Why the seeded leader is not the single db's data, or undefined when it holds the same visits. */
export function seedMismatch(single: VisitFacts, seeded: VisitFacts | undefined): string | undefined {
  if (!seeded) return 'the seeded leader did not answer with its visits'
  if (seeded.count === single.count && seeded.maxId === single.maxId) return undefined
  return `the seeded leader holds ${seeded.count} visits (highest id ${seeded.maxId}), the single db held ${single.count} (highest id ${single.maxId})`
}
