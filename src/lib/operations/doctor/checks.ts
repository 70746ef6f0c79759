/**
 * `stackctl doctor`: each check says ok, warn or fail, what it found and how to fix it. Checks never change
 * anything; a check that cannot run (the engine is down) reports that instead of throwing.
 */
import {constants} from 'node:fs'
import {access, statfs} from 'node:fs/promises'
import path from 'node:path'

import {assertStackDirLocation, sha256} from '../../model/stackdir/stack-files.js'
import {lstatOptional} from '../../model/stackdir/files.js'
import type {Engine, EngineDescription} from '../../engine/engine.js'
import {engineName} from '../../engine/capabilities.js'
import {engineHostChecks} from './engine-host.js'
import {StackctlError} from '../../errors.js'
import {stackVolume, type StackContext} from '../../stack/context.js'
import {imageExists, localImages, registryImages} from '../../engine/images/stack-images.js'
import {inspectOwnership} from '../../stack/ownership.js'
import {checkPasswordAgainstServer} from '../../stack/password.js'
import {SERVICES, stackExposure, stackProblems} from '../../stack/status.js'
import {portUse, takenBy} from '../../stack/port.js'
import {volumeHoldsCluster} from '../../targets/compose/volume.js'
import {confirmHealthNow} from '../../targets/compose/readiness.js'
import {readSecretFile} from './secret-file.js'
import {storedPgVersion} from '../../engine/pgdata/stored.js'
import {isCompatible} from '../../engine/pgdata/version.js'
import {checkRestoreLeftovers} from '../backup-restore/restore-leftovers.js'
import {commandsFor, stackCommand} from '../../model/config/command-line.js'
import {leftoversCheck} from '../upgrade/leftovers.js'
import {archivingCheck} from '../protect/health.js'
import {scheduleCheck} from '../protect/schedule.js'

export type CheckStatus = 'ok' | 'warn' | 'fail'

/** What each check finds (a fix only where there is one to give). */
export interface CheckResult {
  name: string
  status: CheckStatus
  detail: string
  fix?: string
}

/** The report: every key always present, so a missing fix is null rather than absent. */
export interface DoctorReport {
  passed: boolean
  checks: Array<Omit<CheckResult, 'fix'> & {fix: string | null}>
}

/** Below this much free space where Docker keeps its data, building images and growing the volume may fail. */
export const MIN_FREE_BYTES = 2 * 1024 ** 3

export async function runDoctor(ctx: StackContext): Promise<DoctorReport> {
  const checks: CheckResult[] = []
  const engine = await checkEngine(ctx.engine)
  checks.push(engine.result)
  checks.push(await checkCompose(ctx))
  if (engine.ok) {
    checks.push(await checkImages(ctx))
    checks.push(await checkPort(ctx))
    checks.push(await checkDisk(engine.rootDir))
    if (engine.described) {
      checks.push(...(await engineHostChecks(ctx.engine, engine.described, {probeImage: await probeImage(ctx)})))
    }
  } else {
    for (const name of ['images', 'port', 'disk']) {
      checks.push({name, status: 'fail', detail: 'not checked: the engine is unreachable'})
    }
  }
  checks.push(await checkStackDir(ctx))
  checks.push(await checkExposure(ctx))
  if (engine.ok) {
    checks.push(await checkOwner(ctx))
    checks.push(await checkRunning(ctx))
    checks.push(await checkSecret(ctx))
    checks.push(await checkVolumeVersion(ctx))
    checks.push(await checkRestoreLeftovers(ctx))
    const leftovers = await leftoversCheck(ctx)
    if (leftovers) checks.push({name: 'upgrade', ...leftovers})
    const archiving = await archivingCheck(ctx)
    if (archiving) checks.push(archiving)
    const backups = await scheduleCheck(ctx)
    if (backups) checks.push(backups)
  } else {
    for (const name of ['owner', 'stack', 'secret', 'volume', 'restore']) {
      checks.push({name, status: 'fail', detail: 'not checked: the engine is unreachable'})
    }
  }
  return doctorReport(checks)
}

/** The report of any target's checks: passed unless one failed. */
export function doctorReport(checks: readonly CheckResult[]): DoctorReport {
  return {passed: checks.every((c) => c.status !== 'fail'), checks: checks.map((c) => ({...c, fix: c.fix ?? null}))}
}

const MARK = {ok: 'ok  ', warn: 'warn', fail: 'FAIL'} as const

/** What `doctor` prints: a line per check, its fix under it when it is not ok, and the verdict. */
export function describeDoctor(report: DoctorReport): string[] {
  const lines: string[] = []
  for (const check of report.checks) {
    lines.push(`${MARK[check.status]}  ${check.name.padEnd(10)} ${check.detail}`)
    if (check.fix && check.status !== 'ok') lines.push(`${' '.repeat(16)}fix: ${check.fix}`)
  }
  lines.push(report.passed ? 'all checks passed' : 'some checks failed')
  return lines
}

async function checkEngine(
  engine: Engine,
): Promise<{result: CheckResult; ok: boolean; rootDir?: string; described?: EngineDescription}> {
  try {
    const described = await engine.describe()
    return {
      ok: true,
      rootDir: described.rootDir,
      described,
      result: {
        name: 'engine',
        status: 'ok',
        detail: `${engineName(described)} (API ${described.apiVersion}) at ${engine.endpoint}`,
      },
    }
  } catch (error) {
    return {
      ok: false,
      result: {
        name: 'engine',
        status: 'fail',
        detail: `cannot reach the Docker engine at ${engine.endpoint} (${(error as Error).message.split('\n')[0]})`,
        fix: 'start it (Debian: sudo bash scripts/docker-engine.sh) or set DOCKER_HOST',
      },
    }
  }
}

/** A db image the stack would run, present on the engine: the ulimits probe starts a container from it. */
async function probeImage(ctx: StackContext): Promise<string | undefined> {
  const candidates = [registryImages(ctx.config.pgMajor).postgres]
  try {
    candidates.unshift(localImages(ctx.config.pgMajor).postgres)
  } catch {
    // no local image exists for this major
  }
  for (const image of candidates) if (await imageExists(ctx.engine, image)) return image
  return undefined
}

async function checkCompose(ctx: StackContext): Promise<CheckResult> {
  try {
    return {name: 'compose', status: 'ok', detail: `Docker Compose ${await ctx.compose.assertV2()}`}
  } catch (error) {
    return failure('compose', error)
  }
}

async function checkImages(ctx: StackContext): Promise<CheckResult> {
  const {pgMajor, imageSource} = ctx.config
  const registry = registryImages(pgMajor)
  const registryPresent =
    (await imageExists(ctx.engine, registry.postgres)) && (await imageExists(ctx.engine, registry.node))
  let localPresent = false
  try {
    const local = localImages(pgMajor)
    localPresent = (await imageExists(ctx.engine, local.postgres)) && (await imageExists(ctx.engine, local.node))
  } catch {
    localPresent = false // no local images exist for this major
  }
  const found = `registry images ${registryPresent ? 'present' : 'absent'}, local images ${localPresent ? 'present' : 'absent'}`
  if (imageSource === 'registry' && !registryPresent) {
    return {name: 'images', status: 'warn', detail: `${found}; up will pull them`, fix: 'or use --image-source local'}
  }
  if (imageSource === 'local' && !localPresent) {
    return {
      name: 'images',
      status: 'warn',
      detail: `${found}; up will build them (about a minute)`,
      fix: 'stackctl images build',
    }
  }
  if (imageSource === 'auto' && !registryPresent && !localPresent) {
    return {
      name: 'images',
      status: 'warn',
      detail: `${found}; auto will pull them, or build local ones if the registry is unreachable`,
      fix: 'stackctl images build',
    }
  }
  return {name: 'images', status: 'ok', detail: found}
}

async function checkPort(ctx: StackContext): Promise<CheckResult> {
  const {host, port, project} = ctx.config
  const use = await portUse(ctx.engine, {host, port, project})
  if (use.state === 'free') return {name: 'port', status: 'ok', detail: `${host}:${port} is free`}
  if (use.state === 'ours') return {name: 'port', status: 'ok', detail: `${host}:${port} is used by this stack's app`}
  return {
    name: 'port',
    status: 'fail',
    detail: `${host}:${port} is already in use${takenBy(use)}`,
    fix: 'choose another with --port or STACKCTL_PORT, or stop what uses it',
  }
}

async function checkDisk(rootDir: string | undefined): Promise<CheckResult> {
  if (!rootDir) return {name: 'disk', status: 'warn', detail: 'the engine did not say where it stores data'}
  try {
    const stats = await statfs(rootDir)
    const free = stats.bavail * stats.bsize
    const detail = `${(free / 1024 ** 3).toFixed(1)} GiB free in ${rootDir}`
    if (free < MIN_FREE_BYTES)
      return {name: 'disk', status: 'fail', detail, fix: 'free some space (docker system prune removes unused images)'}
    return {name: 'disk', status: 'ok', detail}
  } catch {
    return {name: 'disk', status: 'warn', detail: `cannot read free space of ${rootDir} (a remote engine?)`}
  }
}

/** Writable, or creatable — without creating anything: doctor changes nothing. */
async function checkStackDir(ctx: StackContext): Promise<CheckResult> {
  const {dir} = ctx.paths
  try {
    assertStackDirLocation(dir)
    const info = await lstatOptional(dir)
    if (info?.isSymbolicLink()) {
      return {name: 'stack-dir', status: 'fail', detail: `${dir} is a symbolic link`, fix: 'use a real directory'}
    }
    let existing = dir
    while (!(await lstatOptional(existing))) existing = path.dirname(existing)
    await access(existing, constants.W_OK)
    return {name: 'stack-dir', status: 'ok', detail: `${dir} ${info ? 'is writable' : 'can be created'}`}
  } catch (error) {
    if (error instanceof StackctlError) return failure('stack-dir', error)
    return {
      name: 'stack-dir',
      status: 'fail',
      detail: `${dir} is not writable (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      fix: 'choose another with --dir or STACKCTL_DIR, or fix its permissions',
    }
  }
}

async function checkExposure(ctx: StackContext): Promise<CheckResult> {
  const warnings = await stackExposure(ctx)
  if (warnings.length === 0) return {name: 'exposure', status: 'ok', detail: 'published on loopback only'}
  return {
    name: 'exposure',
    status: 'warn',
    detail: warnings.join('; '),
    fix: 'publish on 127.0.0.1 and mount only what a service needs, unless you mean it',
  }
}

async function checkOwner(ctx: StackContext): Promise<CheckResult> {
  const report = await inspectOwnership(ctx)
  if (report.findings.length === 0) {
    const what = report.volume === 'adopted' ? ' (volume adopted with --adopt)' : ''
    return {name: 'owner', status: 'ok', detail: `project '${ctx.config.project}' is this stack's or unused${what}`}
  }
  return {
    name: 'owner',
    status: 'fail',
    detail: report.findings.join('; '),
    fix: report.foreignDir
      ? `use --dir ${report.foreignDir}, or another --project-name`
      : 'choose another --project-name, or take it over with --adopt after a stackctl volume backup',
  }
}

/** A stack that was started must be running whole and healthy; one that never was is fine. */
async function checkRunning(ctx: StackContext): Promise<CheckResult> {
  const listed = await ctx.engine.containers.list({project: ctx.config.project})
  const {containers, reasons} = await confirmHealthNow(listed, ctx)
  const services = SERVICES.map((name) => {
    const container = containers.find((c) => c.service === name)
    return {name, state: container?.state ?? 'absent', health: container?.health ?? 'none'}
  })
  const problems = stackProblems(services, commandsFor(ctx.config), new Map(), reasons)
  if (containers.length === 0) return {name: 'stack', status: 'ok', detail: 'not started'}
  if (problems.length === 0) return {name: 'stack', status: 'ok', detail: 'db and app running and healthy'}
  return {
    name: 'stack',
    status: 'fail',
    detail: problems.join('; '),
    fix: `${stackCommand(ctx.config, 'up')}, then ${stackCommand(ctx.config, 'status')}`,
  }
}

async function checkSecret(ctx: StackContext): Promise<CheckResult> {
  const volume = ctx.config.volume
  const {content: password, problem} = await readSecretFile(ctx.paths)
  if (problem) return {name: 'secret', status: 'fail', ...problem}
  const hasVolume = await volumeHoldsCluster(ctx.engine, stackVolume(ctx))
  if (password === undefined) {
    return hasVolume
      ? {
          name: 'secret',
          status: 'fail',
          detail: `volume ${volume} exists but ${ctx.paths.passwordFile} is missing`,
          fix: 'restore the password file into the stack directory from your copy of it',
        }
      : {name: 'secret', status: 'ok', detail: 'no password yet; up will generate one'}
  }
  if (!hasVolume) return {name: 'secret', status: 'ok', detail: 'present'}
  const check = await checkPasswordAgainstServer(ctx, password)
  if (check === 'match') {
    return {name: 'secret', status: 'ok', detail: `matches the database in volume ${volume} (checked against it)`}
  }
  const recorded = ctx.state?.passwordSha256
  if (check === 'mismatch' || (recorded !== undefined && recorded !== sha256(password))) {
    return {
      name: 'secret',
      status: 'fail',
      detail: `${ctx.paths.passwordFile} does not match the database in volume ${volume}${check === 'mismatch' ? '' : ' (as last proven; the db is not running)'}`,
      fix: 'restore the original password file; the database only accepts the password it was initialised with',
    }
  }
  return {
    name: 'secret',
    status: recorded === undefined ? 'warn' : 'ok',
    detail:
      recorded === undefined
        ? `present, not checked: the db is not running and no earlier check is on record (up checks it first)`
        : `present and as last proven against volume ${volume} (the db is not running)`,
  }
}

async function checkVolumeVersion(ctx: StackContext): Promise<CheckResult> {
  const volume = ctx.config.volume
  const stored = await storedPgVersion(ctx.engine, stackVolume(ctx))
  if (!stored) return {name: 'volume', status: 'ok', detail: `${volume} does not exist yet`}
  if (!stored.known)
    return {name: 'volume', status: 'warn', detail: `cannot read the PostgreSQL version stored in ${volume}`}
  if (!stored.found)
    return {name: 'volume', status: 'ok', detail: `${volume} holds no PostgreSQL data yet (no PG_VERSION)`}
  if (isCompatible(stored.found, ctx.config.pgMajor)) {
    return {
      name: 'volume',
      status: 'ok',
      detail: `${volume} holds PostgreSQL ${stored.found.major} data, as configured`,
    }
  }
  return {
    name: 'volume',
    status: 'fail',
    detail: `${volume} holds PostgreSQL ${stored.found.major} data, the stack is configured for ${ctx.config.pgMajor}`,
    fix:
      stored.found.major < ctx.config.pgMajor
        ? `use --pg-major ${stored.found.major}, then stackctl db upgrade --to ${ctx.config.pgMajor}`
        : `use --pg-major ${stored.found.major}, or move the data with stackctl volume backup / restore`,
  }
}

function failure(name: string, error: unknown): CheckResult {
  if (error instanceof StackctlError) return {name, status: 'fail', detail: error.message, fix: error.suggestion}
  return {name, status: 'fail', detail: (error as Error).message}
}
