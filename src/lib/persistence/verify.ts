/**
 * `stackctl verify-persistence`: a falsifiable proof that acknowledged visits survive the stack being taken
 * apart. Baseline → write N visits → snapshot → tear down (down, recreate or kill while writes are in flight)
 * → prove the containers are gone and the volume is the same → relaunch → every acknowledged id present, the
 * older rows unchanged, the totals add up → audit the server's durability settings and where its data lives.
 *
 * The stack is left as it was found: started for the check and stopped afterwards only if it was not running,
 * relaunched in any case when the check took it down. The data volume is never deleted.
 */
import createDebug from 'debug'

import {appUrl, volumeName} from '../config/stack-config.js'
import {Psql} from '../db/psql.js'
import type {ContainerSummary} from '../engine/engine.js'
import {Interrupted, StackctlError, UsageError} from '../errors.js'
import type {StackContext} from '../stack/context.js'
import {downStack} from '../stack/down.js'
import type {ImageResolver} from '../stack/images.js'
import {isHealthy, stackStatus} from '../stack/status.js'
import {upStack} from '../stack/up.js'
import {auditDurability, type DurabilityReport} from './audit.js'
import {snapshotProblems, verificationProblems} from './checks.js'
import type {VolumeWatch} from '../engine/engine.js'
import {containerMounts, runningDbContainer, volumeCreatedAt} from './evidence.js'
import {writeWhileKilling} from './kill.js'
import {VisitWriter, type WriteResult} from './load.js'
import type {CheckSettings, TeardownMode} from './options.js'
import {MISSING_SHOWN, type KillReport, type PersistenceResult, type PhaseResult} from './result.js'
import {findMissingIds, readServerSettings, systemIdentifier, takeSnapshot, type Snapshot} from './sql.js'
import {gatherTeardownEvidence, tearDown, teardownProblems} from './teardown.js'

const debug = createDebug('stackctl:persistence')

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** What hooks see: enough to break things on purpose in tests. */
export interface CheckRun {
  stack: StackContext
  mode: TeardownMode
  acknowledgedIds: readonly number[]
  /** Runs SQL in the db container that is running at the time of the call. */
  sql: (query: string) => Promise<string>
}

export interface VerifyHooks {
  beforeTeardown?: (run: CheckRun) => Promise<void> | void
  afterTeardown?: (run: CheckRun) => Promise<void> | void
  beforeVerify?: (run: CheckRun) => Promise<void> | void
}

export interface VerifyOptions extends CheckSettings {
  keepRunning?: boolean
  resolver: ImageResolver
  hooks?: VerifyHooks
  requestTimeoutMs?: number
  /**
   * Ctrl-C/SIGTERM: the writes stop, a teardown or relaunch under way finishes, the stack is left as found,
   * and the check ends with Interrupted (exit 130) saying what it did.
   */
  signal?: AbortSignal
}

export async function verifyPersistence(ctx: StackContext, options: VerifyOptions): Promise<PersistenceResult> {
  return new PersistenceCheck(ctx, options).execute()
}

class PersistenceCheck {
  private readonly phases: PhaseResult[] = []
  private readonly reasons: string[] = []
  private foundRunning = false
  private startedStack = false
  private stackDown = false
  private relaunchTried = false
  /** The first start failed: like `stackctl up`, its containers are left for inspection, not taken down. */
  private startFailed = false
  private stopped = false
  private oldContainers: ContainerSummary[] = []
  private volumeCreated: string | undefined
  private volumeCreatedAfter: string | undefined
  private volumeWatch: VolumeWatch | undefined
  private systemIdBefore: string | undefined
  private systemIdAfter: string | undefined
  private destroyEventsAtTeardown = 0
  private baseline: Snapshot | undefined
  private snapshot: Snapshot | undefined
  private written: WriteResult | undefined
  private kill: KillReport | null = null
  private verified: {after: Snapshot; old: Snapshot; missing: number[]} | undefined
  private durability: DurabilityReport | null = null
  private aborted: PersistenceResult['aborted'] = null
  private readonly volume: string

  constructor(
    private readonly ctx: StackContext,
    private readonly options: VerifyOptions,
  ) {
    this.volume = volumeName(ctx.config.project)
  }

  async execute(): Promise<PersistenceResult> {
    let fatal: unknown
    try {
      await this.phase('prepare', () => this.prepare())
    } catch (error) {
      fatal = error
    }
    if (!fatal) {
      try {
        await this.phase('baseline', () => this.takeBaseline())
        await this.phase('write', () => this.write())
        if (this.options.mode !== 'kill') await this.phase('snapshot', () => this.snapshotBeforeTeardown())
        await this.hook('beforeTeardown')
        await this.phase('teardown', () => this.tearDown())
        await this.hook('afterTeardown')
        await this.phase('relaunch', () => this.relaunch())
        await this.hook('beforeVerify')
        await this.phase('verify', () => this.verify())
        await this.phase('audit', () => this.audit())
      } catch (error) {
        debug('check aborted: %O', error)
      }
    }
    await this.leaveAsFound()
    this.volumeWatch?.close()
    if (this.options.signal?.aborted) throw this.interrupted()
    // Before anything was touched, a failure is the environment's (engine, images, port): report it as such.
    if (fatal) throw fatal
    return this.result()
  }

  private interrupted(): Interrupted {
    const stoppedIn = this.aborted?.phase ?? this.phases.at(-1)?.name ?? 'prepare'
    const running = !this.stackDown && !this.stopped
    const left = running ? 'running' : 'stopped'
    const how = this.phases.some((p) => p.name === 'leave-as-found')
      ? `, brought back as found (${left})`
      : ` (${left}, as found)`
    return new Interrupted(
      `verify-persistence stopped during its ${stoppedIn} phase; nothing was verified${how}; the volume ${this.volume} was not touched`,
      'run stackctl verify-persistence again when you are ready',
    )
  }

  /** Runs one phase, timing it; a thrown error fails the phase, becomes a reason and ends the check. */
  private async phase(name: string, body: () => Promise<string[]>): Promise<void> {
    if (this.options.signal?.aborted && name !== 'leave-as-found') {
      this.aborted ??= {phase: name, message: 'interrupted', exitCode: 130}
      throw new Interrupted(`before the ${name} phase`)
    }
    this.ctx.progress(`verify-persistence: ${name}`)
    const started = performance.now()
    try {
      const problems = await body()
      this.phases.push({name, ms: Math.round(performance.now() - started), ok: problems.length === 0})
      this.reasons.push(...problems)
    } catch (error) {
      this.phases.push({name, ms: Math.round(performance.now() - started), ok: false})
      this.reasons.push(`${name}: ${errorMessage(error)}`)
      const exitCode = error instanceof StackctlError ? error.exitCode : 1
      this.aborted ??= {phase: name, message: errorMessage(error), exitCode}
      throw error
    }
  }

  private async hook(name: keyof VerifyHooks): Promise<void> {
    const hook = this.options.hooks?.[name]
    if (!hook) return
    try {
      await hook(this.view())
    } catch (error) {
      this.reasons.push(`${name} hook: ${errorMessage(error)}`)
      this.aborted ??= {phase: name, message: errorMessage(error), exitCode: 1}
      throw error
    }
  }

  private view(): CheckRun {
    const {ctx} = this
    return {
      stack: ctx,
      mode: this.options.mode,
      acknowledgedIds: this.written?.acknowledgedIds ?? [],
      sql: async (query) => (await this.psql()).query(query),
    }
  }

  private async prepare(): Promise<string[]> {
    const status = await stackStatus(this.ctx)
    if (status.mode === 'dev') {
      // A relaunch renders the built app; it would silently take the stack out of development mode.
      throw new UsageError(
        `the stack '${status.project}' runs in development mode (up --dev); the check relaunches the built stack`,
        'run stackctl up without --dev first, or check another stack with --project-name',
      )
    }
    this.foundRunning = status.services.some((s) => s.state === 'running')
    this.startedStack = !isHealthy(status)
    // Even on a healthy stack: up recreates nothing on a running, unchanged stack, and whatever would make the
    // relaunch fail (a hand-edited compose file, a changed setting, a missing image) shows now, before teardown.
    try {
      await upStack(this.ctx, this.options.resolver)
    } catch (error) {
      this.startFailed = true
      throw error
    }
    return []
  }

  private async takeBaseline(): Promise<string[]> {
    this.oldContainers = await this.ctx.engine.containers.list({project: this.ctx.config.project})
    this.volumeWatch = await this.ctx.engine.volumes.watch(this.volume)
    this.volumeCreated = await volumeCreatedAt(this.ctx.engine, this.volume)
    const psql = await this.psql()
    this.systemIdBefore = await systemIdentifier(psql)
    this.baseline = await takeSnapshot(psql)
    return []
  }

  private async write(): Promise<string[]> {
    const {visits, concurrency, requestTimeoutMs} = this.options
    const writer = new VisitWriter({url: appUrl(this.ctx.config), visits, concurrency, requestTimeoutMs})
    const stop = () => writer.stop()
    this.options.signal?.addEventListener('abort', stop, {once: true})
    try {
      return await this.writeWith(writer)
    } finally {
      this.options.signal?.removeEventListener('abort', stop)
    }
  }

  private async writeWith(writer: VisitWriter): Promise<string[]> {
    const {visits, mode} = this.options
    if (mode === 'kill') {
      const outcome = await writeWhileKilling(this.ctx.engine, (await this.db()).id, writer, visits)
      this.written = outcome.written
      this.kill = outcome.kill
      // A kill that was sent took the db down: the stack must be brought back whatever happens next.
      if (outcome.kill) this.stackDown = true
      if (this.options.signal?.aborted) throw new Interrupted('during the writes')
      return outcome.problems
    }
    this.written = await writer.run()
    if (this.options.signal?.aborted) throw new Interrupted('during the writes')
    const {failed, attempted, errors} = this.written
    return failed === 0 ? [] : [`${failed} of ${attempted} visits were not acknowledged (${errors.join(', ')})`]
  }

  private async snapshotBeforeTeardown(): Promise<string[]> {
    this.snapshot = await takeSnapshot(await this.psql())
    return snapshotProblems(this.baseline!, this.snapshot, this.written!.acknowledged)
  }

  private async tearDown(): Promise<string[]> {
    const {mode} = this.options
    this.stackDown = true
    await tearDown(this.ctx, mode)
    const current = await this.ctx.engine.containers.list({project: this.ctx.config.project})
    this.destroyEventsAtTeardown = this.volumeWatch?.destroyEvents ?? 0
    const evidence = await gatherTeardownEvidence(
      this.ctx,
      mode,
      this.oldContainers,
      this.volume,
      this.volumeCreated,
      current,
      this.destroyEventsAtTeardown,
    )
    return teardownProblems(evidence)
  }

  private async relaunch(): Promise<string[]> {
    this.relaunchTried = true
    await upStack(this.ctx, this.options.resolver, {shield: true})
    this.stackDown = false
    this.volumeCreatedAfter = await volumeCreatedAt(this.ctx.engine, this.volume)
    const removed = (this.volumeWatch?.destroyEvents ?? 0) - this.destroyEventsAtTeardown
    return removed > 0 ? [`the volume ${this.volume} was removed and created again during the relaunch`] : []
  }

  private async verify(): Promise<string[]> {
    const psql = await this.psql()
    // The rows that must be unchanged: up to the highest id before teardown (kill mode: before the writes).
    const reference = this.options.mode === 'kill' ? this.baseline! : this.snapshot!
    const written = this.written!
    const after = await takeSnapshot(psql)
    const old = await takeSnapshot(psql, reference.maxId)
    const missing = await findMissingIds(psql, written.acknowledgedIds)
    this.verified = {after, old, missing}
    this.systemIdAfter = await systemIdentifier(psql)
    return verificationProblems({
      mode: this.options.mode,
      baseline: this.baseline!,
      reference,
      written,
      after,
      old,
      missing,
      systemIdentifierBefore: this.systemIdBefore!,
      systemIdentifierAfter: this.systemIdAfter,
    })
  }

  private async audit(): Promise<string[]> {
    const db = (await this.db()).id
    const {durability, reasons} = auditDurability({
      settings: await readServerSettings(new Psql(this.ctx.engine, db)),
      mounts: await containerMounts(this.ctx.engine, db),
      expectedVolume: this.volume,
    })
    this.durability = durability
    return reasons
  }

  /**
   * Leaves the stack as found: relaunched if the check took it down and it was running (or --keep-running),
   * stopped if the check started it. A start or relaunch that failed is not undone or repeated: its
   * containers stay for inspection, as `stackctl up` leaves them (and says). `down` here never takes the
   * volume with it.
   */
  private async leaveAsFound(): Promise<void> {
    if (this.startFailed) return
    const stop = !this.foundRunning && !this.options.keepRunning && (this.startedStack || this.stackDown)
    if (stop) {
      await this.leaveAsFoundPhase(async () => {
        await downStack(this.ctx, {volumes: false})
        this.stopped = true
      })
    } else if ((this.stackDown && !this.relaunchTried) || (await this.brokenByInterrupt())) {
      await this.leaveAsFoundPhase(async () => {
        await upStack(this.ctx, this.options.resolver, {shield: true})
        this.stackDown = false
      })
    }
  }

  /** An interrupt can land between a kill and the teardown: whatever the flags say, look at the stack. */
  private async brokenByInterrupt(): Promise<boolean> {
    if (!this.options.signal?.aborted || !(this.foundRunning || this.options.keepRunning)) return false
    const healthy = isHealthy(await stackStatus(this.ctx))
    if (!healthy) this.stackDown = true
    return !healthy
  }

  private async leaveAsFoundPhase(body: () => Promise<void>): Promise<void> {
    try {
      await this.phase('leave-as-found', async () => {
        await body()
        return []
      })
    } catch (error) {
      debug('restore failed: %O', error)
    }
  }

  private async db(): Promise<ContainerSummary> {
    return runningDbContainer(this.ctx.engine, this.ctx.config.project)
  }

  /** psql in the db container running now (it changes across teardown and relaunch). */
  private async psql(): Promise<Psql> {
    return new Psql(this.ctx.engine, (await this.db()).id)
  }

  private result(): PersistenceResult {
    const written = this.written
    const verified = this.verified
    const reference = this.options.mode === 'kill' ? this.baseline : this.snapshot
    return {
      passed: this.reasons.length === 0,
      mode: this.options.mode,
      project: this.ctx.config.project,
      visitsRequested: this.options.visits,
      concurrency: this.options.concurrency,
      attempted: written?.attempted ?? 0,
      acknowledged: written?.acknowledged ?? 0,
      baseline: this.baseline?.total ?? null,
      before: reference?.total ?? null,
      after: verified?.after.total ?? null,
      missing: verified?.missing.slice(0, MISSING_SHOWN) ?? [],
      missingCount: verified ? verified.missing.length : null,
      checksumBefore: reference?.checksum ?? null,
      checksumAfter: verified?.old.checksum ?? null,
      durability: this.durability,
      kill: this.kill,
      volume: {
        name: this.volume,
        createdAtBefore: this.volumeCreated ?? null,
        createdAtAfter: this.volumeCreatedAfter ?? null,
        removedDuringCheck: (this.volumeWatch?.destroyEvents ?? 0) > 0,
        systemIdentifierBefore: this.systemIdBefore ?? null,
        systemIdentifierAfter: this.systemIdAfter ?? null,
      },
      phases: this.phases,
      reasons: this.reasons,
      aborted: this.aborted,
      stack: {foundRunning: this.foundRunning, leftRunning: !this.stackDown && !this.stopped},
    }
  }
}
