/**
 * Which PostgreSQL major a data directory holds and where it sits in a volume: PG_VERSION markers and
 * server_version_num. Pure.
 */
import path from 'node:path'

/**
 * The content of a PG_VERSION file as a major version: `17` → 17. Before PostgreSQL 10 the major had two
 * parts (`9.6`), kept as a decimal so it still compares as a number.
 */
export function parsePgVersionFile(text: string): number | undefined {
  const match = /^\s*(\d+)(?:\.(\d+))?\s*$/.exec(text)
  if (!match) return undefined
  const major = Number(match[1])
  if (major >= 10) return match[2] === undefined ? major : undefined
  return match[2] === undefined ? undefined : Number(`${match[1]}.${match[2]}`)
}

/** Where the data directory sits inside the volume: at its root up to 17, in `<major>/docker` from 18 on. */
export function dataDirInVolume(major: number): string {
  return major >= 18 ? `${major}/docker` : ''
}

/** The PG_VERSION paths worth looking at inside a volume mounted at `root`. */
export function pgVersionCandidates(root: string, configuredMajor: number): string[] {
  const majors = [...new Set([18, configuredMajor].filter((m) => m >= 18))]
  return [path.posix.join(root, 'PG_VERSION'), ...majors.map((m) => path.posix.join(root, `${m}/docker/PG_VERSION`))]
}

export interface PgVersionFound {
  major: number
  /** The data directory relative to the volume's root ('' = the root itself). */
  dataDir: string
}

/**
 * Parses `grep -H '' FILES...` output (`<path>:<content>` per line) from a volume mounted at `root`.
 * The root-level marker wins: it is where PostgreSQL up to 17 keeps its data.
 */
export function parsePgVersionListing(output: string, root: string): PgVersionFound | undefined {
  const found: PgVersionFound[] = []
  for (const line of output.split('\n')) {
    const colon = line.indexOf(':')
    if (colon < 0) continue
    const file = line.slice(0, colon)
    const major = parsePgVersionFile(line.slice(colon + 1))
    if (major === undefined || path.posix.basename(file) !== 'PG_VERSION') continue
    const dataDir = path.posix.relative(root, path.posix.dirname(file))
    found.push({major, dataDir})
  }
  return found.find((f) => f.dataDir === '') ?? found[0]
}

/** A volume fits the configured major when the version matches and the data sits where that image looks. */
export function isCompatible(found: PgVersionFound | undefined, configuredMajor: number): boolean {
  if (!found) return true // empty: the configured server initialises it on first start
  return found.major === configuredMajor && found.dataDir === dataDirInVolume(configuredMajor)
}

/** `server_version_num` (e.g. 170005, 90624) → the major version (17, 9.6). */
export function majorFromVersionNum(text: string): number | undefined {
  const num = Number(text.trim())
  if (!Number.isInteger(num) || num <= 0) return undefined
  return num >= 100_000
    ? Math.floor(num / 10_000)
    : Number(`${Math.floor(num / 10_000)}.${Math.floor(num / 100) % 100}`)
}
