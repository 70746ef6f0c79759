/**
 * pgBackRest inside the running db container, as the postgres OS user (the repository's files and the
 * archive_command's must have one owner). Argument builders are pure; `runPgbackrest` is the one place that
 * executes them.
 */
import type {Engine, ExecResult} from '../../engine/engine.js'
import {StackctlError} from '../../errors.js'
import {STANZA} from '../../model/protection.js'

/** `docker exec` runs as root: setpriv (util-linux, in the image) drops to postgres, as the entrypoint does. */
export function asPostgres(command: readonly string[]): string[] {
  return ['setpriv', '--reuid=postgres', '--regid=postgres', '--init-groups', '--', ...command]
}

export function pgbackrestArgs(command: string, options: readonly string[] = []): string[] {
  return asPostgres(['pgbackrest', `--stanza=${STANZA}`, ...options, command])
}

export async function runPgbackrest(
  engine: Engine,
  containerId: string,
  command: string,
  options: readonly string[] = [],
  signal?: AbortSignal,
): Promise<ExecResult> {
  return engine.containers.exec(containerId, pgbackrestArgs(command, options), {signal})
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
}

export interface RepoInfo {
  /** ok | missing stanza | other pgBackRest status text */
  status: string
  backups: RepoBackup[]
  /** The archived WAL range across the repository, when any WAL is archived. */
  archive?: {min: string; max: string}
  /** The system identifier of the cluster the stanza archives now (its newest db entry). */
  systemId?: string
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
  archive?: Array<{min?: string | null; max?: string | null}>
}

/** Parses `pgbackrest info --output=json` (an array of stanzas) for ours. */
export function parseRepoInfo(json: string): RepoInfo {
  // A system identifier is a 64-bit integer: as a JS number it would lose its last digits.
  const stanzas = JSON.parse(json.replaceAll(/"system-id"\s*:\s*(\d+)/g, '"system-id":"$1"')) as Array<
    RawInfo & {name?: string}
  >
  const stanza = stanzas.find((entry) => entry.name === STANZA)
  if (!stanza) return {status: 'missing stanza', backups: []}
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
  }))
  const ranges = (stanza.archive ?? []).filter((range) => range.min && range.max)
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
  const current = (stanza.db ?? []).reduce<NonNullable<RawInfo['db']>[number] | undefined>(
    (newest, db) => (newest === undefined || (db.id ?? 0) > (newest.id ?? 0) ? db : newest),
    undefined,
  )
  const systemId = current?.['system-id']
  return {status, backups, ...(archive ? {archive} : {}), ...(systemId ? {systemId} : {})}
}

function versionOf(dbs: RawInfo['db'], id: number | undefined): {pgVersion?: string} {
  const version = dbs?.find((db) => db.id === id)?.version
  return version ? {pgVersion: version} : {}
}
