/**
 * pgBackRest inside the running db container, as the postgres OS user (the repository's files and the
 * archive_command's must have one owner). Argument builders are pure; `runPgbackrest` is the one place that
 * executes them.
 */
import type {Engine, ExecResult} from '../../engine/engine.js'
import {StackctlError} from '../../errors.js'
import {STANZA} from '../../model/protection.js'
import {DB_OS_USER} from '../../model/config/stack-config.js'

export function pgbackrestArgs(command: string, options: readonly string[] = []): string[] {
  return ['pgbackrest', `--stanza=${STANZA}`, ...options, command]
}

export async function runPgbackrest(
  engine: Engine,
  containerId: string,
  command: string,
  options: readonly string[] = [],
  signal?: AbortSignal,
): Promise<ExecResult> {
  return engine.containers.exec(containerId, pgbackrestArgs(command, options), {signal, user: DB_OS_USER})
}

/** Runs a pgBackRest command that must succeed; its own message (last stderr lines) becomes the error's. */
export async function mustPgbackrest(
  engine: Engine,
  containerId: string,
  command: string,
  options: readonly string[] = [],
  signal?: AbortSignal,
): Promise<string> {
  const result = await runPgbackrest(engine, containerId, command, options, signal)
  if (result.exitCode !== 0) {
    const said = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-3).join(' ')
    throw new StackctlError(`pgbackrest ${command} failed (exit ${result.exitCode}): ${said}`, {
      suggestion: 'the db log has the server side of it: stackctl logs db',
    })
  }
  return result.stdout
}

/** The part of `pgbackrest info --output=json` stackctl reads: the stanza's backups. */
export interface RepoBackup {
  label: string
  type: 'full' | 'diff' | 'incr'
  /** Unix seconds. */
  start: number
  stop: number
  /** The WAL range the backup needs. */
  archiveStart: string
  archiveStop: string
  /** Where the backup became consistent: no target before it can be reached from it. */
  lsnStop: string
  /** Bytes in the repository. */
  repoSize: number
  /** The database's size when it was backed up (uncompressed: what a restore writes), when the repository says. */
  size?: number
  /** An annotation stackctl sets (the snapshot's name), when any. */
  annotation?: Record<string, string>
  /** The PostgreSQL major version the backup is of ("17"), when the repository says. */
  pgVersion?: string
  /** The system identifier of the cluster the backup is of, when the repository says. */
  systemId?: string
  /** The archived WAL range of the backup's own db entry (archive id), when the repository says. */
  walRange?: {min: string; max: string}
}

export interface RepoInfo {
  /** ok | missing stanza | other pgBackRest status text */
  status: string
  backups: RepoBackup[]
  /**
   * The archived WAL range of the cluster the stanza archives now (its newest db entry), when any is archived.
   * After a stanza-upgrade (db upgrade, db rollback) the earlier clusters' WAL stays under their own archive
   * ids: segment names start again with each cluster, so ranges of different clusters are never mixed.
   */
  archive?: {min: string; max: string}
  /** The system identifier of the cluster the stanza archives now (its newest db entry). */
  systemId?: string
  /** Its PostgreSQL major ("17"). */
  pgVersion?: string
  /** Every cluster the stanza archived, oldest first (a stanza-upgrade adds one). */
  history?: Array<{id: number; version: string; systemId: string}>
}

interface RawInfo {
  status?: {code?: number; message?: string}
  backup?: Array<{
    label: string
    type: RepoBackup['type']
    timestamp: {start: number; stop: number}
    archive?: {start?: string; stop?: string}
    lsn?: {start?: string; stop?: string}
    info?: {size?: number; repository?: {delta?: number; size?: number}}
    annotation?: Record<string, string>
    database?: {id?: number}
  }>
  db?: Array<{id?: number; version?: string; 'system-id'?: string}>
  archive?: Array<{min?: string | null; max?: string | null; database?: {id?: number}}>
}

/** Parses `pgbackrest info --output=json` (an array of stanzas) for ours. */
export function parseRepoInfo(json: string): RepoInfo {
  // A system identifier is a 64-bit integer: as a JS number it would lose its last digits.
  const stanzas = JSON.parse(json.replaceAll(/"system-id"\s*:\s*(\d+)/g, '"system-id":"$1"')) as Array<
    RawInfo & {name?: string}
  >
  const stanza = stanzas.find((entry) => entry.name === STANZA)
  if (!stanza) return {status: 'missing stanza', backups: []}
  const rangeOf = (id: number | undefined) => {
    const range = (stanza.archive ?? []).find((r) => id !== undefined && r.database?.id === id && r.min && r.max)
    return range ? {walRange: {min: range.min!, max: range.max!}} : {}
  }
  const backups = (stanza.backup ?? []).map((raw) => ({
    label: raw.label,
    type: raw.type,
    start: raw.timestamp.start,
    stop: raw.timestamp.stop,
    archiveStart: raw.archive?.start ?? '',
    archiveStop: raw.archive?.stop ?? '',
    lsnStop: raw.lsn?.stop ?? '0/0',
    repoSize: raw.info?.repository?.delta ?? raw.info?.repository?.size ?? 0,
    ...(raw.info?.size === undefined ? {} : {size: raw.info.size}),
    ...(raw.annotation ? {annotation: raw.annotation} : {}),
    ...versionOf(stanza.db, raw.database?.id),
    ...rangeOf(raw.database?.id),
  }))
  const current = (stanza.db ?? []).reduce<NonNullable<RawInfo['db']>[number] | undefined>(
    (newest, db) => (newest === undefined || (db.id ?? 0) > (newest.id ?? 0) ? db : newest),
    undefined,
  )
  // Only the current cluster's archive id; a repository listing without database ids is one cluster's.
  const ranges = (stanza.archive ?? []).filter(
    (range) => range.min && range.max && (range.database?.id === undefined || range.database.id === current?.id),
  )
  const archive =
    ranges.length > 0
      ? {
          min: ranges.map((r) => r.min!).sort()[0],
          max: ranges
            .map((r) => r.max!)
            .sort()
            .at(-1)!,
        }
      : undefined
  const status = stanza.status?.code === 0 ? 'ok' : (stanza.status?.message ?? 'unknown')
  const systemId = current?.['system-id']
  const history = (stanza.db ?? [])
    .filter((db) => db.id !== undefined && db.version && db['system-id'])
    .map((db) => ({id: db.id!, version: db.version!, systemId: db['system-id']!}))
    .sort((a, b) => a.id - b.id)
  return {
    status,
    backups,
    history,
    ...(archive ? {archive} : {}),
    ...(systemId ? {systemId} : {}),
    ...(current?.version ? {pgVersion: current.version} : {}),
  }
}

/**
 * The repository as the cluster the stanza archives now sees it: only its own backups (a stanza-upgrade keeps
 * the earlier major's, which its binaries cannot restore). After a rollback the stanza's newest entry is the
 * old cluster again (same system identifier and major), so its backups from before the upgrade count too.
 */
export function currentCluster(info: RepoInfo): RepoInfo {
  if (!info.systemId) return info
  const ours = (backup: RepoBackup) =>
    (backup.systemId === undefined || backup.systemId === info.systemId) &&
    (backup.pgVersion === undefined || info.pgVersion === undefined || backup.pgVersion === info.pgVersion)
  return {...info, backups: info.backups.filter(ours)}
}

/** The backups of other clusters (an earlier major, before a db upgrade): kept, not restorable here. */
export function otherClusters(info: RepoInfo): RepoBackup[] {
  const ours = new Set(currentCluster(info).backups)
  return info.backups.filter((backup) => !ours.has(backup))
}

function versionOf(dbs: RawInfo['db'], id: number | undefined): {pgVersion?: string; systemId?: string} {
  const db = dbs?.find((entry) => entry.id === id)
  return {
    ...(db?.version ? {pgVersion: db.version} : {}),
    ...(db?.['system-id'] ? {systemId: db['system-id']} : {}),
  }
}
