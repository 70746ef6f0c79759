/**
 * What the archiving check reads besides pg_stat_archiver: the repository's filesystem (its size, free space
 * and what the repository itself takes) and pgBackRest's own last archive-push error, from the db's log (the
 * server copies archive_command's stderr there). A repository that is full is the commonest cause, and the
 * one pg_stat_archiver cannot name. Parsers are pure; `readRepoFacts` is the one place that asks the engine.
 */
import type {Engine} from '../../engine/engine.js'
import {REPO_PATH} from '../../model/protection.js'
import {readArchiveListing, type ArchiveListing} from './continuity.js'

export interface RepoSpace {
  /** The filesystem that holds the repository: its size and what is free on it. */
  sizeBytes: number
  freeBytes: number
  /** What the repository's files take. */
  usedBytes: number
}

export interface RepoFacts {
  space?: RepoSpace
  /** pgBackRest's last archive-push error in the db's log, paths cut to their file name. */
  lastError?: string
  /** The archived segments, timeline histories and backups' starts: whether the archive has a gap. */
  archive?: ArchiveListing
}

/** df first (one line: size, available), then du: a du that cannot finish still leaves df's answer. */
export const REPO_SPACE_COMMAND = [
  'sh',
  '-c',
  `df -B1 --output=size,avail ${REPO_PATH} | tail -n 1; du -sb ${REPO_PATH} | cut -f1`,
]

export function parseRepoSpace(output: string): RepoSpace | undefined {
  const [df = '', du = ''] = output.trim().split('\n')
  const [size, free] = df.trim().split(/\s+/).map(Number)
  const used = Number(du.trim())
  if (!Number.isFinite(size) || !Number.isFinite(free) || size <= 0) return undefined
  return {sizeBytes: size, freeBytes: free, usedBytes: Number.isFinite(used) ? used : 0}
}

/**
 * The message of the last pgBackRest error in a log tail: `ERROR: [104]: archive-push command encountered
 * error(s):` is followed by one indented `repo1: [FileWriteError] …` line per repository, which holds the cause.
 */
export function lastPgbackrestError(log: string): string | undefined {
  let last: string | undefined
  for (const line of log.split('\n')) {
    const error = /\sERROR: \[\d+\]: (.+)$/.exec(line)
    if (error) last = error[1].trim()
    const repo = /^\s+repo\d+: (.+)$/.exec(line)
    if (repo && last !== undefined) last = repo[1].trim()
  }
  return last?.replaceAll(/'\/[^']*\/([^'/]+)'/g, "'$1'")
}

const NO_SPACE = /No space left on device|\[28\]/

/** Full: pgBackRest said so, or less than one WAL segment fits. */
export function repositoryFull(repo: RepoFacts, segmentBytes: number): boolean {
  return (
    (repo.lastError !== undefined && NO_SPACE.test(repo.lastError)) ||
    (repo.space !== undefined && repo.space.freeBytes < segmentBytes)
  )
}

/** Every read is best-effort: the check still judges pg_stat_archiver without them. */
export async function readRepoFacts(engine: Engine, dbId: string): Promise<RepoFacts> {
  const [space, log, archive] = await Promise.all([
    engine.containers.exec(dbId, REPO_SPACE_COMMAND).then(
      (result) => parseRepoSpace(result.stdout),
      () => undefined,
    ),
    engine.containers.logTail(dbId, 200).catch(() => ''),
    readArchiveListing(engine, dbId),
  ])
  const lastError = lastPgbackrestError(log)
  return {...(space ? {space} : {}), ...(lastError ? {lastError} : {}), ...(archive ? {archive} : {})}
}
