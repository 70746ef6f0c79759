/**
 * The checks of `db upgrade` that talk to the engine: the pre-flight (which changes nothing), the room on the
 * new volume, the leftovers of a killed run, and the proof that the copy holds exactly the old data.
 */
import {DB_NAME} from '../../model/config/stack-config.js'
import {compareLedgers, readLedger, type Ledger} from '../db/ledger.js'
import {Psql} from '../db/psql.js'
import type {Engine} from '../../engine/engine.js'
import {StackctlError, UsageError} from '../../errors.js'
import {LOCAL_PG_MAJORS} from '../../engine/images/stack-images.js'
import type {StackContext} from '../../stack/context.js'
import {resolveImages, type ImageResolver} from '../../stack/images.js'
import {runningDb, serverVersion} from '../backup-restore/database.js'
import {formatBytes} from '../backup-restore/format.js'
import {judgeSchema, parseSchemaReport, SCHEMA_REPORT_SQL} from '../backup-restore/schema.js'
import {
  assertTarget,
  CLUSTER_SETTINGS_SQL,
  EXTENSIONS_SQL,
  initdbArgs,
  LOCALE_PROVIDER_SQL,
  parseAvailable,
  parseClusterSettings,
  requiredBytes,
  UPGRADE_ROLE_LABEL,
  type ClusterSettings,
  type Method,
  type VolumeDriver,
} from './plan.js'
import {updateState} from './switch.js'

export interface PreflightOptions {
  to: number
  method: Method
  initdbArgs: string[]
}

/** What the pre-flight found out; nothing was changed to find it. */
export interface Preflight {
  oldPsql: Psql
  oldVersion: string
  settings: ClusterSettings
  initdb: string[]
  extensions: string[]
  image: string
  network: string
  oldBytes: number
  oldVolume: VolumeDriver
  existingVolumes: Set<string>
}

export async function preflight(
  ctx: StackContext,
  resolver: ImageResolver,
  options: PreflightOptions,
): Promise<Preflight> {
  const {project} = ctx.config
  const db = await runningDb(ctx, 'upgrade')
  const oldPsql = new Psql(ctx.engine, db.id)
  const server = await serverVersion(oldPsql, DB_NAME)
  const registry = ctx.config.imageSource === 'registry' || ctx.state?.settings.resolvedImageSource === 'registry'
  assertTarget(server.major, options.to, registry ? [server.major, options.to] : LOCAL_PG_MAJORS)
  if (server.major !== ctx.config.pgMajor) {
    throw new UsageError(
      `the running server is PostgreSQL ${server.major} but the stack is configured for ${ctx.config.pgMajor}`,
      'run stackctl up with the --pg-major of the data first',
    )
  }
  const settings = await clusterSettings(oldPsql)
  const initdb = initdbArgs(settings, options.to, options.initdbArgs)
  const extensions = lines(await oldPsql.query(EXTENSIONS_SQL))
  const {images} = await resolveImages(
    ctx.config.imageSource,
    options.to,
    ctx.state?.settings.resolvedImageSource,
    resolver,
  )
  if (options.method === 'pg_upgrade') await refusePgUpgrade(ctx.engine, images.postgres, server.major)
  const network = (await ctx.engine.networks.listByProject(project)).find((name) => name === `${project}_default`)
  if (!network) throw new StackctlError(`the network ${project}_default of the stack is missing`)
  const info = await ctx.engine.volumes.inspect(ctx.config.volume)
  if (!info) throw new StackctlError(`the data volume ${ctx.config.volume} is missing`)
  const oldBytes = await ctx.engine.volumes.sizeBytes(ctx.config.volume)
  const existing = await ctx.engine.volumes.list(`com.docker.compose.project=${project}`)
  const pending = ctx.state?.pendingUpgrade?.volume
  const existingVolumes = new Set(existing.map((v) => v.name).filter((name) => name !== pending))
  for (const name of [ctx.config.volume, ...(ctx.state?.superseded ?? []).map((s) => s.volume)]) {
    existingVolumes.add(name)
  }
  ctx.progress(
    `pre-flight: PostgreSQL ${server.major} → ${options.to} (${images.postgres}), ${settings.encoding}, ${settings.collate}, checksums ${settings.dataChecksums ? 'on' : 'off'}, extensions: ${extensions.join(', ') || 'none'}, data ${oldBytes >= 0 ? formatBytes(oldBytes) : 'of unknown size'}`,
  )
  return {
    oldPsql,
    oldVersion: server.version,
    settings,
    initdb,
    extensions,
    image: images.postgres,
    network,
    oldBytes,
    oldVolume: {name: ctx.config.volume, driver: info.driver, options: info.options},
    existingVolumes,
  }
}

export async function clusterSettings(psql: Psql): Promise<ClusterSettings> {
  const provider = await psql.tryQuery(LOCALE_PROVIDER_SQL)
  return parseClusterSettings(await psql.query(CLUSTER_SETTINGS_SQL), provider || 'c')
}

/** pg_upgrade needs both majors' binaries in one image; Debian's images hold one major each. */
export async function refusePgUpgrade(engine: Engine, image: string, oldMajor: number): Promise<never> {
  const probe = await engine.containers.runOneShot({
    image,
    entrypoint: ['test'],
    cmd: ['-x', `/usr/lib/postgresql/${oldMajor}/bin/postgres`],
    readOnlyVolumes: {},
  })
  const reason =
    probe.exitCode === 0
      ? `stackctl does not run pg_upgrade yet`
      : `${image} holds no PostgreSQL ${oldMajor} binaries, and pg_upgrade needs both majors' in one image`
  throw new UsageError(
    `--method pg_upgrade is not available with these images: ${reason}`,
    'use --method dump (the default)',
  )
}

/** A container of an earlier run that was killed, and the volume it was filling: both ours, never switched to. */
export async function removeLeftovers(ctx: StackContext, pre: Preflight): Promise<void> {
  const stackId = ctx.state?.stackId
  const containers = await ctx.engine.containers.list({label: `${UPGRADE_ROLE_LABEL}=upgrade`})
  for (const container of containers) {
    if (container.labels['io.stackctl.stack-id'] !== stackId) continue
    ctx.progress(`removing ${container.name}, left by an upgrade that was killed`)
    await ctx.engine.containers.remove(container.id)
  }
  const pending = ctx.state?.pendingUpgrade?.volume
  if (!pending || pending === ctx.config.volume || pre.existingVolumes.has(pending)) return
  const info = await ctx.engine.volumes.inspect(pending)
  if (info && info.labels['io.stackctl.stack-id'] === stackId && info.labels['io.stackctl.supersedes']) {
    ctx.progress(`removing ${pending}, the unfinished copy of an upgrade that was killed (it was never used)`)
    await ctx.engine.volumes.remove(pending)
  }
  await updateState(ctx, ({pendingUpgrade: _pending, ...state}) => state)
}

/**
 * The new volume must be storage of its own: options that differ in spelling (a symlink, a path through a
 * bind mount) can still reach the old volume's directory. Both are mounted read-only in a helper and their
 * root directories' device and inode compared, before anything is written to the new one.
 */
export async function assertSeparateStorage(engine: Engine, pre: Preflight, volume: string): Promise<void> {
  let probe
  try {
    probe = await engine.containers.runOneShot({
      image: pre.image,
      entrypoint: ['stat'],
      cmd: ['-c', '%d:%i', '/old', '/new'],
      readOnlyVolumes: {[pre.oldVolume.name]: '/old', [volume]: '/new'},
    })
  } catch (error) {
    throw new StackctlError(`the new volume ${volume} cannot be mounted: ${firstLine(error)}`, {
      exitCode: 2,
      suggestion: 'check the --volume-opt options (a bind mount needs an existing directory)',
    })
  }
  const [old, created] = lines(probe.stdout)
  if (probe.exitCode !== 0 || !old || !created) {
    throw new StackctlError(`cannot tell whether ${volume} is storage of its own: ${probe.stderr.trim()}`)
  }
  if (old === created) {
    throw new StackctlError(
      `the new volume ${volume} is the storage of ${pre.oldVolume.name} itself (the same directory)`,
      {
        exitCode: 2,
        suggestion:
          'pass --volume-opt device=<another, empty directory> (with the other --volume-opt options of a bind mount)',
      },
    )
  }
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error))
    .replace(/^\(HTTP code \d+\) [^-]*- /, '')
    .split('\n')[0]
}

export async function assertRoom(engine: Engine, pre: Preflight, volume: string): Promise<void> {
  const probe = await engine.containers.runOneShot({
    image: pre.image,
    entrypoint: ['df'],
    cmd: ['--output=avail', '-B1', '/new'],
    readOnlyVolumes: {[volume]: '/new'},
  })
  const available = parseAvailable(probe.stdout)
  const needed = requiredBytes(pre.oldBytes)
  if (available === undefined)
    throw new StackctlError(`cannot tell the free space of ${volume}: ${probe.stderr.trim()}`)
  if (available < needed) {
    throw new StackctlError(
      `not enough space for the copy: ${volume} has ${formatBytes(available)} free, the copy needs about ${formatBytes(needed)} (the data: ${formatBytes(Math.max(0, pre.oldBytes))}, plus ${formatBytes(needed - Math.max(0, pre.oldBytes))} for the new server's WAL)`,
      {
        exitCode: 2,
        suggestion: "free space on the engine's disk (or pass --volume-opt for a volume elsewhere) and try again",
      },
    )
  }
}

/** The copy must hold exactly what the ledger of the old data holds, and be a working visit-tracker database. */
export async function verifyCopy(psql: Psql, before: Ledger): Promise<void> {
  const differences = compareLedgers(before, await readLedger(psql))
  if (differences.length > 0) {
    throw new StackctlError(`the copy differs from the old data: ${differences.slice(0, 5).join('; ')}`)
  }
  const schema = judgeSchema(parseSchemaReport(await psql.query(SCHEMA_REPORT_SQL.replace(/\n/g, ' '))))
  if (schema.problems.length > 0)
    throw new StackctlError(`the copy is not a visit-tracker database: ${schema.problems.join('; ')}`)
  const [counter, count] = (
    await psql.query("SELECT (SELECT coalesce(sum(n), 0) FROM visit_counter) || '|' || (SELECT count(*) FROM visits)")
  ).split('|')
  if (counter !== count) throw new StackctlError(`the copy's visit counter says ${counter}, count(*) says ${count}`)
}

export function lines(output: string): string[] {
  return output
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
}
