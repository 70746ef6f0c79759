/**
 * `stackctl describe`: everything about one stack on one screen — what `status` says (services, health, URLs,
 * problems) and what takes longer to find out: each service's last health-check output and image, the
 * PostgreSQL version, the volume's size, the backup files in the stack directory and pgBackRest's backups.
 * It only reads: nothing is started, written or repaired, and the password never appears.
 */
import type {Dirent} from 'node:fs'
import {readdir} from 'node:fs/promises'
import path from 'node:path'

import type {ContainerSummary, Engine} from '../../engine/engine.js'
import {runningService} from '../../engine/services.js'
import {lstatOptional, readOptional} from '../../model/stackdir/files.js'
import {backupsVolumeName} from '../../model/protection.js'
import type {StackContext} from '../../stack/context.js'
import {isHealthy, stackStatus} from '../../stack/status.js'
import {sidecarPath} from '../backup-restore/format.js'
import {readBackupRecord} from '../backup-restore/record.js'
import {parseRepoInfo, runPgbackrest} from '../protect/pgbackrest.js'

export interface DescribedService {
  name: string
  /** The container's state (`absent` without one). */
  state: string
  /** As `status` has it: stackctl's own probe answers for the engine's `starting`. */
  health: string
  /** The last line of the engine's last health check of the container; null when it has none yet. */
  lastHealthCheck: string | null
  /** The image the container was created from, by the name it was given, and the image's id. */
  image: string | null
  imageId: string | null
}

/** A dump in the stack directory's backups folder, with what its record (FILE.json) says. */
export interface BackupFileReport {
  file: string
  bytes: number
  /** From the record; null when the record is missing or unreadable (then `problem` says why). */
  createdAt: string | null
  visits: number | null
  pgMajor: number | null
  problem: string | null
}

/** pgBackRest's repository in the `<project>_backups` volume, for a stack that archives its WAL. */
export interface ArchiveReport {
  volume: string
  /** `ok`, pgBackRest's own status text, or why it was not read (the db is not running). */
  status: string
  backups: Array<{label: string; type: string; stoppedAt: string; bytes: number}>
  /** The archived WAL range, null when nothing is archived yet (or it was not read). */
  wal: {min: string; max: string} | null
}

export interface DescribeReport {
  project: string
  /** The stack directory. */
  dir: string
  url: string
  /** For tools on this machine when the db publishes a port (up --db-port); never with the password. */
  dbUrl: string | null
  /** Every service running and healthy. */
  healthy: boolean
  services: DescribedService[]
  /** The running server's version (e.g. `17.5`); null when the db is not running. */
  postgresVersion: string | null
  /** registry or local: where the stack's images come from. */
  imageSource: string
  /** sizeBytes: null when the volume does not exist or the engine does not know. */
  volume: {name: string; exists: boolean; pgMajor: number; sizeBytes: number | null}
  backups: {directory: string; files: BackupFileReport[]; archive: ArchiveReport | null}
  /** What is wrong, with what to run (as `status` says it). */
  problems: string[]
  warnings: string[]
}

/** The longest health-check line shown (the engine keeps up to 4 KiB of output). */
const MAX_CHECK_CHARS = 200

export async function describeStack(ctx: StackContext): Promise<DescribeReport> {
  const status = await stackStatus(ctx)
  const containers = await ctx.engine.containers.list({project: ctx.config.project})
  const services = await Promise.all(
    status.services.map(async (s) =>
      describeService(
        ctx.engine,
        s,
        containers.find((c) => c.service === s.name),
      ),
    ),
  )
  const db = await runningService(ctx.engine, ctx.config.project, 'db')
  const directory = path.join(ctx.paths.dir, 'backups')
  return {
    project: status.project,
    dir: ctx.paths.dir,
    url: status.url,
    dbUrl: status.dbUrl,
    healthy: isHealthy(status),
    services,
    postgresVersion: db ? await postgresVersion(ctx.engine, db.id) : null,
    imageSource: ctx.state?.settings.resolvedImageSource ?? ctx.config.imageSource,
    volume: {
      name: status.volume.name,
      exists: status.volume.exists,
      pgMajor: status.volume.pgMajor,
      sizeBytes: status.volume.exists ? knownSize(await ctx.engine.volumes.sizeBytes(status.volume.name)) : null,
    },
    backups: {
      directory,
      files: await backupFiles(directory),
      archive: ctx.config.walArchive ? await archiveReport(ctx.engine, ctx.config.project, db?.id) : null,
    },
    problems: status.problems,
    warnings: status.warnings,
  }
}

async function describeService(
  engine: Engine,
  service: {name: string; state: string; health: string},
  container: ContainerSummary | undefined,
): Promise<DescribedService> {
  const details = container ? await engine.containers.inspect(container.id) : undefined
  const line = details?.health?.lastOutput?.trim().split('\n').filter(Boolean).at(-1)
  return {
    ...service,
    lastHealthCheck: line ? (line.length > MAX_CHECK_CHARS ? `${line.slice(0, MAX_CHECK_CHARS)}…` : line) : null,
    image: container?.image ?? null,
    imageId: container?.imageId ?? null,
  }
}

/** Pure: `postgres (PostgreSQL) 17.5 (Debian 17.5-1.pgdg120+1)` → `17.5`. */
export function parsePostgresVersion(output: string): string | null {
  return /\(PostgreSQL\)\s+(\d+(?:\.\d+)?)/.exec(output)?.[1] ?? null
}

async function postgresVersion(engine: Engine, containerId: string): Promise<string | null> {
  // The server binary says its version without a connection (and so without the password).
  const result = await engine.containers.exec(containerId, ['postgres', '--version']).catch(() => undefined)
  return result?.exitCode === 0 ? parsePostgresVersion(result.stdout) : null
}

function knownSize(bytes: number): number | null {
  return Number.isFinite(bytes) && bytes >= 0 ? bytes : null
}

/**
 * The dumps in the backups folder (regular files only: a link is not followed, a run's `.partial` file is not
 * a backup), newest first by their record's time, then by name.
 */
export async function backupFiles(directory: string): Promise<BackupFileReport[]> {
  const folder = await lstatOptional(directory)
  if (!folder?.isDirectory()) return []
  const entries: Dirent[] = await readdir(directory, {withFileTypes: true})
  const dumps = entries.filter((e) => e.isFile() && e.name.endsWith('.dump') && !e.name.startsWith('.'))
  const files = await Promise.all(dumps.map((e) => backupFile(path.join(directory, e.name))))
  return files.sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? '') || a.file.localeCompare(b.file))
}

async function backupFile(file: string): Promise<BackupFileReport> {
  const bytes = (await lstatOptional(file))?.size ?? 0
  const none = {file, bytes, createdAt: null, visits: null, pgMajor: null}
  let text: string | undefined
  try {
    text = await readOptional(sidecarPath(file))
  } catch (error) {
    return {...none, problem: `its record cannot be read: ${(error as Error).message}`}
  }
  if (text === undefined) return {...none, problem: `it has no record (${path.basename(sidecarPath(file))})`}
  const reading = readBackupRecord(text)
  if ('problem' in reading) return {...none, problem: `its record is unusable: ${reading.problem}`}
  const {createdAt, visits, pgMajor} = reading.record
  return {file, bytes, createdAt, visits, pgMajor, problem: null}
}

async function archiveReport(engine: Engine, project: string, dbId: string | undefined): Promise<ArchiveReport> {
  const volume = backupsVolumeName(project)
  if (!dbId) return {volume, status: 'not read: the db is not running', backups: [], wal: null}
  const result = await runPgbackrest(engine, dbId, 'info', ['--output=json'])
  if (result.exitCode !== 0) {
    const said = (result.stderr.trim() || result.stdout.trim()).split('\n').at(-1) ?? ''
    return {volume, status: `pgbackrest info failed (exit ${result.exitCode}): ${said}`, backups: [], wal: null}
  }
  const info = parseRepoInfo(result.stdout)
  return {
    volume,
    status: info.status,
    backups: info.backups.map((b) => ({
      label: b.label,
      type: b.type,
      stoppedAt: new Date(b.stop * 1000).toISOString(),
      bytes: b.repoSize,
    })),
    wal: info.archive ?? null,
  }
}
