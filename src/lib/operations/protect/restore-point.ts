/**
 * A named restore point before every command that replaces or rewrites data on an archiving stack (issue 25):
 * `volume restore`, `snapshot restore`, `db restore`, `down --volumes`. The running server writes it
 * (pg_create_restore_point), its WAL segment is switched and must reach the archive, and a record of where
 * it was made (its timeline and LSN) is kept in the repository next to the WAL it names: a point made on a
 * timeline that a later restore left is reached only by following that timeline, which `db restore --to-name`
 * reads from the record. No point, no command: without its way back, the command does not start.
 */
import {checkInterrupted} from '../../cli/interrupt.js'
import type {ContainerSummary, Engine} from '../../engine/engine.js'
import {runningService} from '../../engine/services.js'
import {Interrupted, StackctlError} from '../../errors.js'
import {stackCommand} from '../../model/config/command-line.js'
import {backupsVolumeName, REPO_PATH} from '../../model/protection.js'
import type {StackContext} from '../../stack/context.js'
import {Psql} from '../db/psql.js'
import {ARCHIVE_LISTING_COMMAND, parseArchiveListing} from './continuity.js'
import {DB_OS_USER} from '../../model/config/stack-config.js'
import {parseRepoInfo, runPgbackrest} from './pgbackrest.js'
import type {TimelineHistory} from './recovery.js'

/** Where the records live: in the repository's volume, beside (not inside) pgBackRest's own directories. */
export const POINTS_DIR = `${REPO_PATH}/stackctl-restore-points`

/** What `--json` says of the point a command made before it changed anything. */
export interface RestorePoint {
  name: string
  /** Where it is in the WAL, and on which timeline. */
  lsn: string
  timeline: number
  /** ISO time it was made. */
  at: string
  /** The command it was made before. */
  before: string
  /** The command that restores the stack to it, as printed (with --dir/--project-name when needed). */
  returnCommand: string
}

/**
 * What the repository keeps of a point: enough for a restore to follow its timeline, and the major of the
 * server that wrote it (a point made before a db upgrade lies in the earlier major's WAL).
 */
export type PointRecord = Omit<RestorePoint, 'returnCommand'> & {pgMajor?: number}

/**
 * `before-<command>-<UTC time>` (`before-snapshot-restore-20261206T231500Z`): says what and when, valid for
 * --to-name (at most 63 characters), and unique among `taken` (a `-2`, `-3`… when a name of that second is).
 */
export function restorePointName(command: string, at: Date, taken: ReadonlySet<string> = new Set()): string {
  const stamp = at
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replaceAll(/[-:]/g, '')
  const base = `before-${command.trim().replaceAll(/[^A-Za-z0-9]+/g, '-')}-${stamp}`
  let name = base
  for (let n = 2; taken.has(name); n++) name = `${base}-${n}`
  return name
}

/** The line a command prints for its point. */
export function restorePointLine(point: RestorePoint): string {
  return `restore point ${point.name} (${point.returnCommand} returns here)`
}

export function parsePointRecord(text: string): PointRecord | undefined {
  try {
    const raw = JSON.parse(text) as Partial<PointRecord>
    if (typeof raw.name !== 'string' || typeof raw.lsn !== 'string' || typeof raw.timeline !== 'number') return
    return {
      name: raw.name,
      lsn: raw.lsn,
      timeline: raw.timeline,
      at: raw.at ?? '',
      before: raw.before ?? '',
      ...(typeof raw.pgMajor === 'number' ? {pgMajor: raw.pgMajor} : {}),
    }
  } catch {
    return undefined
  }
}

/** The record of a point and the archive's timeline histories, read with the repository mounted read-only. */
export async function readPointRecord(
  engine: Engine,
  image: string,
  repo: string,
  name: string,
): Promise<{record: PointRecord; history: TimelineHistory | undefined} | undefined> {
  const script = `cat "${POINTS_DIR}/$1" 2>/dev/null | sed 's/^/point /'\n${ARCHIVE_LISTING_COMMAND[2]}`
  const result = await engine.containers.runOneShot({
    image,
    entrypoint: ['sh'],
    cmd: ['-c', script, 'sh', name],
    readOnlyVolumes: {[repo]: REPO_PATH},
    user: DB_OS_USER,
  })
  const line = result.stdout.split('\n').find((l) => l.startsWith('point '))
  const record = line ? parsePointRecord(line.slice('point '.length)) : undefined
  if (!record || record.name !== name) return undefined
  return {record, history: parseArchiveListing(result.stdout).histories.get(record.timeline)}
}

/** Thrown when a signal comes while the point is made: the command's own interrupt line would not say so. */
export class PointInterrupted extends Interrupted {}

const ARCHIVED_POLL_MS = 250
/** An archive this slow is worth a line: the command seems to hang otherwise. */
const SAY_WAITING_MS = 2000

/**
 * The point before `command`, or null when the stack does not archive its WAL (no point, no line). A stopped
 * db makes none: only a running server writes one, and starting a db the user stopped to write it would change
 * more than the command asked; said in a progress line. Throws (the command must not go on) when the point
 * cannot be made or does not reach the archive in time.
 */
export async function makeRestorePoint(
  ctx: StackContext,
  command: string,
  signal?: AbortSignal,
): Promise<RestorePoint | null> {
  const {project} = ctx.config
  if (!ctx.config.walArchive || !(await ctx.engine.volumes.inspect(backupsVolumeName(project)))) return null
  const db = await runningService(ctx.engine, project, 'db')
  if (!db) {
    ctx.progress(
      `no restore point before ${command}: the db is not running (a point is written by the running server); the WAL archive holds what it archived`,
    )
    return null
  }
  const psql = new Psql(ctx.engine, db.id)
  const mode = await psql.tryQuery('SHOW archive_mode', 'postgres')
  if (mode !== 'on' && mode !== 'always') return null
  const foreign = await notArchivedHere(ctx, db, psql)
  if (foreign) {
    ctx.progress(`no restore point before ${command}: ${foreign}`)
    return null
  }
  checkInterrupted(signal, `${command} stopped before its restore point was made: nothing was changed`)
  const fail = (why: string) =>
    new StackctlError(`${command} stopped before it changed any data: no restore point could be made: ${why}`, {
      suggestion: `the data was not changed; ${stackCommand(ctx.config, 'doctor')} checks the WAL archive`,
    })
  const at = new Date()
  const name = restorePointName(command, at, await takenNames(ctx, db))
  let made: string
  try {
    made = await psql.query(
      `SELECT p::text || '|' || pg_walfile_name(p) || '|' || current_setting('server_version_num')::int / 10000 FROM pg_create_restore_point('${name}') AS p`,
      'postgres',
    )
  } catch (error) {
    throw fail((error as Error).message)
  }
  const [lsn, segment, major] = made.split('|')
  const point: RestorePoint = {
    name,
    lsn,
    timeline: Number.parseInt(segment.slice(0, 8), 16),
    at: at.toISOString(),
    before: command,
    returnCommand: stackCommand(ctx.config, `db restore --to-name ${name}`),
  }
  const interrupted = `${command} stopped while its restore point was made: ${name} is in the WAL, its archiving not awaited; nothing else was done`
  // The segment that holds the point is switched at once: archive_timeout would take up to its 10 s.
  await psql.query('SELECT pg_switch_wal()', 'postgres').catch((error: Error) => {
    throw fail(`the WAL switch after ${name} failed: ${error.message}`)
  })
  await waitArchived(ctx, psql, segment, {name, signal, interrupted, fail})
  const {returnCommand: _printed, ...fields} = point
  const record: PointRecord = {...fields, pgMajor: Number(major)}
  const written = await writePointRecord(ctx.engine, db.id, record)
  if (written) throw fail(`its record was not written: ${written}`)
  ctx.progress(restorePointLine(point))
  return point
}

/**
 * Keeps a point's record in the repository (written by the db container, which mounts it): what a later
 * `db restore --to-name` reads to follow the point's timeline. Returns the error, or undefined when written.
 */
export async function writePointRecord(engine: Engine, dbId: string, record: PointRecord): Promise<string | undefined> {
  const written = await engine.containers.exec(
    dbId,
    [
      'sh',
      '-c',
      'mkdir -p "$1" && printf "%s\\n" "$3" > "$1/.$2.tmp" && mv "$1/.$2.tmp" "$1/$2"',
      'sh',
      POINTS_DIR,
      record.name,
      JSON.stringify(record),
    ],
    {user: DB_OS_USER},
  )
  return written.exitCode === 0 ? undefined : written.stderr.trim() || `exit ${written.exitCode}`
}

/**
 * Why the running server's WAL cannot reach this archive, or undefined. After `down --volumes` and `up`, the
 * new, empty cluster runs against the old repository, which refuses its WAL (another system identifier): a
 * point it wrote would never be archived, and the data it would lead back to is that empty cluster's.
 */
async function notArchivedHere(ctx: StackContext, db: ContainerSummary, psql: Psql): Promise<string | undefined> {
  const info = await runPgbackrest(ctx.engine, db.id, 'info', ['--output=json'])
  const repo = info.exitCode === 0 ? parseRepoInfo(info.stdout) : undefined
  if (repo?.status === 'missing stanza') return 'the WAL archive is not set up yet (no pgBackRest stanza)'
  const running = await psql.tryQuery('SELECT system_identifier FROM pg_control_system()', 'postgres')
  if (repo?.systemId && running && repo.systemId !== running) {
    return `the running db (system identifier ${running}) is not the cluster the WAL archive holds (${repo.systemId}): its WAL does not reach the archive`
  }
  return undefined
}

async function takenNames(ctx: StackContext, db: ContainerSummary): Promise<Set<string>> {
  const listed = await ctx.engine.containers.exec(db.id, ['ls', '-1', POINTS_DIR], {user: DB_OS_USER})
  return new Set(listed.exitCode === 0 ? listed.stdout.split('\n').filter(Boolean) : [])
}

/** Until pg_stat_archiver says the segment (or a later one) is archived: archiving goes in order. */
async function waitArchived(
  ctx: StackContext,
  psql: Psql,
  segment: string,
  context: {name: string; signal?: AbortSignal; interrupted: string; fail: (why: string) => StackctlError},
): Promise<void> {
  const seconds = ctx.config.timeoutSeconds
  const deadline = Date.now() + seconds * 1000
  let sayAt = Date.now() + SAY_WAITING_MS
  let failed = ''
  for (;;) {
    if (sayAt <= Date.now() && sayAt > 0) {
      ctx.progress(`waiting for WAL segment ${segment} (restore point ${context.name}) to reach the archive`)
      sayAt = 0
    }
    if (context.signal?.aborted) throw new PointInterrupted(context.interrupted)
    const answer = await psql.tryQuery(
      `SELECT coalesce(last_archived_wal, '') || '|' || coalesce(last_failed_wal, '') || '|' || coalesce(last_failed_time::text, '') FROM pg_stat_archiver`,
      'postgres',
    )
    const [archived = '', failedWal = '', failedAt = ''] = (answer ?? '').split('|')
    if (/^[0-9A-F]{24}$/.test(archived) && archived.slice(0, 8) === segment.slice(0, 8) && archived >= segment) return
    if (failedWal) failed = ` (the last failed archive attempt: ${failedWal} at ${failedAt})`
    if (Date.now() > deadline) {
      throw context.fail(
        `restore point ${context.name} was written, but its WAL segment ${segment} did not reach the archive within ${seconds} s${failed}`,
      )
    }
    await new Promise((resolve) => setTimeout(resolve, ARCHIVED_POLL_MS))
  }
}
