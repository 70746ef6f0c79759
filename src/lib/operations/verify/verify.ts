/**
 * `stackctl verify-persistence`: a falsifiable proof that acknowledged visits survive the stack being taken
 * apart. Baseline → write N visits → snapshot → tear down (down, recreate or kill while writes are in flight)
 * → prove the containers are gone and the volume is the same → relaunch → every acknowledged id present, the
 * older rows unchanged, the totals add up → audit the server's durability settings and where its data lives.
 *
 * The stack is left as it was found: started for the check and stopped afterwards only if it was not running,
 * relaunched in any case when the check took it down. The data volume is never deleted.
 *
 * A pipeline of typed stages: each phase receives what the earlier ones produced and returns its own stage, so
 * nothing is read before it exists; the result is built from the stages that were reached.
 */
import createDebug from 'debug'

import {appUrl} from '../../model/config/stack-config.js'
import {Psql} from '../db/psql.js'
import type {ContainerSummary, VolumeWatch} from '../../engine/engine.js'
import {Interrupted, StackctlError, UsageError} from '../../errors.js'
import type {StackContext} from '../../stack/context.js'
import {downStack} from '../../targets/compose/down.js'
import type {ImageResolver} from '../../stack/images.js'
import {isHealthy, stackStatus} from '../../stack/status.js'
import {upStack} from '../../targets/compose/up.js'
import {phaseRunner, type StepRunner} from '../../plan/runner.js'
import {auditDurability, type DurabilityReport} from './audit.js'
import {snapshotProblems, verificationProblems} from './checks.js'
import {containerMounts, runningDbContainer, volumeCreatedAt} from './evidence.js'
import {writeWhileKilling} from './kill.js'
import {VisitWriter, type WriteResult} from './load.js'
import type {CheckSettings, TeardownMode} from './options.js'
import {MISSING_SHOWN, type KillReport, type PersistenceResult, type PhaseResult, type VerifyMode} from './result.js'
import {findMissingIds, readServerSettings, systemIdentifier, takeSnapshot, type Snapshot} from './sql.js'
import {gatherTeardownEvidence, tearDown, teardownProblems} from './teardown.js'
import {stackCommand} from '../../model/config/command-line.js'

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
  /** The command's step runner (its display); without one, the phases are reported as ctx's phases. */
  steps?: StepRunner
}

export async function verifyPersistence(ctx: StackContext, options: VerifyOptions): Promise<PersistenceResult> {
  return new PersistenceCheck(ctx, options).execute()
}

/** What each phase produces for the ones after it. */
interface Baseline {
  containers: ContainerSummary[]
  watch: VolumeWatch
  volumeCreated: string | undefined
  systemId: string
  snapshot: Snapshot
}

interface Writes {
  written: WriteResult
  kill: KillReport | null
}

interface Verified {
  after: Snapshot
  old: Snapshot
  missing: number[]
  systemId: string
}

/** The stages the check reached, in order; a missing one means its phase never succeeded. */
interface Stages {
  baseline?: Baseline
  writes?: Writes
  /** The rows before teardown (kill mode: the baseline — the database cannot be asked while it is killed). */
  reference?: Snapshot
  destroyEventsAtTeardown?: number
  volumeCreatedAfter?: string
  verified?: Verified
  durability?: DurabilityReport
}

/** Where the stack is, for leaving it as it was found. */
interface StackCondition {
  foundRunning: boolean
  /** The check had to start (or heal) the stack. */
  startedStack: boolean
  /** The first start failed: like `stackctl up`, its containers are left for inspection, not taken down. */
  startFailed: boolean
  /** Taken down by the check (teardown or kill) and not brought back yet. */
  down: boolean
  relaunchTried: boolean
  stopped: boolean
}

interface PhaseOutcome<T> {
  value: T
  problems: string[]
}

const ok = <T>(value: T): PhaseOutcome<T> => ({value, problems: []})

class PersistenceCheck {
  private readonly phases: PhaseResult[] = []
  private readonly reasons: string[] = []
  private readonly stages: Stages = {}
  private readonly stack: StackCondition = {
    foundRunning: false,
    startedStack: false,
    startFailed: false,
    down: false,
    relaunchTried: false,
    stopped: false,
  }
  private aborted: PersistenceResult['aborted'] = null
  private readonly volume: string
  private readonly steps: StepRunner

  constructor(
    private readonly ctx: StackContext,
    private readonly options: VerifyOptions,
  ) {
    this.volume = ctx.config.volume
    this.steps = options.steps ?? phaseRunner(ctx)
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
        await this.run()
      } catch (error) {
        debug('check aborted: %O', error)
      }
    }
    await this.leaveAsFound()
    this.stages.baseline?.watch.close()
    if (this.options.signal?.aborted) throw this.interrupted()
    // Before anything was touched, a failure is the environment's (engine, images, port): report it as such.
    if (fatal) throw fatal
    return this.result()
  }

  /** The phases after prepare, each fed by the stages before it. */
  private async run(): Promise<void> {
    const {mode} = this.options
    const baseline = (this.stages.baseline = await this.phase('baseline', () => this.takeBaseline()))
    const writes = (this.stages.writes = await this.phase('write', () => this.write()))
    this.stages.reference =
      mode === 'kill'
        ? baseline.snapshot
        : await this.phase('snapshot', () => this.snapshotBeforeTeardown(baseline, writes.written))
    const reference = this.stages.reference
    await this.hook('beforeTeardown')
    this.stages.destroyEventsAtTeardown = await this.phase('teardown', () => this.tearDown(baseline))
    const destroyEvents = this.stages.destroyEventsAtTeardown
    await this.hook('afterTeardown')
    this.stages.volumeCreatedAfter = await this.phase('relaunch', () => this.relaunch(baseline, destroyEvents))
    await this.hook('beforeVerify')
    this.stages.verified = await this.phase('verify', () => this.verify(baseline, writes.written, reference))
    this.stages.durability = await this.phase('audit', () => this.audit())
  }

  private interrupted(): Interrupted {
    const stoppedIn = this.aborted?.phase ?? this.phases.at(-1)?.name ?? 'prepare'
    const left = this.leftRunning() ? 'running' : 'stopped'
    const how = this.phases.some((p) => p.name === 'leave-as-found')
      ? `, brought back as found (${left})`
      : ` (${left}, as found)`
    return new Interrupted(
      `verify-persistence stopped during its ${stoppedIn} phase; nothing was verified${how}; the volume ${this.volume} was not touched`,
      `run ${stackCommand(this.ctx.config, 'verify-persistence')} again when you are ready`,
    )
  }

  private leftRunning(): boolean {
    return !this.stack.down && !this.stack.stopped
  }

  /** Runs one phase, timing it; a thrown error fails the phase, becomes a reason and ends the check. */
  private async phase<T>(name: string, body: () => Promise<PhaseOutcome<T>>): Promise<T> {
    if (this.options.signal?.aborted && name !== 'leave-as-found') {
      this.aborted ??= {phase: name, message: 'interrupted', exitCode: 130}
      throw new Interrupted(`before the ${name} phase`)
    }
    this.ctx.progress(`verify-persistence: ${name}`)
    try {
      // A step of the runner: what the phase runs (up, down) prints inside it; problems show it failed.
      const failedIf = (outcome: PhaseOutcome<T>) => outcome.problems.length > 0
      const {value, problems} = await this.steps.step(name, body, {failedIf, shielded: true})
      this.phases.push({name, ms: this.steps.record(name)?.ms ?? 0, ok: problems.length === 0})
      this.reasons.push(...problems)
      return value
    } catch (error) {
      this.phases.push({name, ms: this.steps.record(name)?.ms ?? 0, ok: false})
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
    return {
      stack: this.ctx,
      mode: this.options.mode,
      acknowledgedIds: this.stages.writes?.written.acknowledgedIds ?? [],
      sql: async (query) => (await this.psql()).query(query),
    }
  }

  private async prepare(): Promise<PhaseOutcome<void>> {
    const status = await stackStatus(this.ctx)
    if (status.mode === 'dev') {
      // A relaunch renders the built app; it would silently take the stack out of development mode.
      throw new UsageError(
        `the stack '${status.project}' runs in development mode (up --dev); the check relaunches the built stack`,
        `run ${stackCommand(this.ctx.config, 'up')} (without --dev) first, or check another stack with --project-name`,
      )
    }
    this.stack.foundRunning = status.services.some((s) => s.state === 'running')
    this.stack.startedStack = !isHealthy(status)
    // Even on a healthy stack: up recreates nothing on a running, unchanged stack, and whatever would make the
    // relaunch fail (a hand-edited compose file, a changed setting, a missing image) shows now, before teardown.
    try {
      await upStack(this.ctx, this.options.resolver)
    } catch (error) {
      this.stack.startFailed = true
      throw error
    }
    return ok(undefined)
  }

  private async takeBaseline(): Promise<PhaseOutcome<Baseline>> {
    const {engine, config} = this.ctx
    const containers = await engine.containers.list({project: config.project})
    const watch = await engine.volumes.watch(this.volume)
    const volumeCreated = await volumeCreatedAt(engine, this.volume)
    const psql = await this.psql()
    return ok({
      containers,
      watch,
      volumeCreated,
      systemId: await systemIdentifier(psql),
      snapshot: await takeSnapshot(psql),
    })
  }

  private async write(): Promise<PhaseOutcome<Writes>> {
    const {visits, concurrency, requestTimeoutMs, mode, signal} = this.options
    const writer = new VisitWriter({url: appUrl(this.ctx.config), visits, concurrency, requestTimeoutMs})
    const stop = () => writer.stop()
    signal?.addEventListener('abort', stop, {once: true})
    try {
      if (mode === 'kill') {
        const outcome = await writeWhileKilling(this.ctx.engine, (await this.db()).id, writer, visits)
        // A kill that was sent took the db down: the stack must be brought back whatever happens next.
        if (outcome.kill) this.stack.down = true
        if (signal?.aborted) throw new Interrupted('during the writes')
        return {value: {written: outcome.written, kill: outcome.kill}, problems: outcome.problems}
      }
      const written = await writer.run()
      if (signal?.aborted) throw new Interrupted('during the writes')
      const {failed, attempted, errors} = written
      const problems =
        failed === 0 ? [] : [`${failed} of ${attempted} visits were not acknowledged (${errors.join(', ')})`]
      return {value: {written, kill: null}, problems}
    } finally {
      signal?.removeEventListener('abort', stop)
    }
  }

  private async snapshotBeforeTeardown(baseline: Baseline, written: WriteResult): Promise<PhaseOutcome<Snapshot>> {
    const snapshot = await takeSnapshot(await this.psql())
    return {value: snapshot, problems: snapshotProblems(baseline.snapshot, snapshot, written.acknowledged)}
  }

  /** Returns the volume's destroy events seen by the end of the teardown. */
  private async tearDown(baseline: Baseline): Promise<PhaseOutcome<number>> {
    const {mode} = this.options
    this.stack.down = true
    await tearDown(this.ctx, mode)
    const current = await this.ctx.engine.containers.list({project: this.ctx.config.project})
    const destroyEvents = baseline.watch.destroyEvents
    const evidence = await gatherTeardownEvidence(
      this.ctx,
      mode,
      baseline.containers,
      this.volume,
      baseline.volumeCreated,
      current,
      destroyEvents,
    )
    return {value: destroyEvents, problems: teardownProblems(evidence)}
  }

  /** Returns the volume's CreatedAt after the relaunch. */
  private async relaunch(
    baseline: Baseline,
    destroyEventsAtTeardown: number,
  ): Promise<PhaseOutcome<string | undefined>> {
    this.stack.relaunchTried = true
    await upStack(this.ctx, this.options.resolver, {shield: true})
    this.stack.down = false
    const createdAfter = await volumeCreatedAt(this.ctx.engine, this.volume)
    const removed = baseline.watch.destroyEvents - destroyEventsAtTeardown
    const problems = removed > 0 ? [`the volume ${this.volume} was removed and created again during the relaunch`] : []
    return {value: createdAfter, problems}
  }

  /** The rows that must be unchanged are those up to the highest id of `reference`. */
  private async verify(baseline: Baseline, written: WriteResult, reference: Snapshot): Promise<PhaseOutcome<Verified>> {
    const psql = await this.psql()
    const after = await takeSnapshot(psql)
    const old = await takeSnapshot(psql, reference.maxId)
    const missing = await findMissingIds(psql, written.acknowledgedIds)
    const systemId = await systemIdentifier(psql)
    const problems = verificationProblems({
      mode: this.options.mode,
      baseline: baseline.snapshot,
      reference,
      written,
      after,
      old,
      missing,
      systemIdentifierBefore: baseline.systemId,
      systemIdentifierAfter: systemId,
    })
    return {value: {after, old, missing, systemId}, problems}
  }

  private async audit(): Promise<PhaseOutcome<DurabilityReport>> {
    const db = (await this.db()).id
    const {durability, reasons} = auditDurability({
      settings: await readServerSettings(new Psql(this.ctx.engine, db)),
      mounts: await containerMounts(this.ctx.engine, db),
      expectedVolume: this.volume,
    })
    return {value: durability, problems: reasons}
  }

  /**
   * Leaves the stack as found: relaunched if the check took it down and it was running (or --keep-running),
   * stopped if the check started it. A start or relaunch that failed is not undone or repeated: its
   * containers stay for inspection, as `stackctl up` leaves them (and says). `down` here never takes the
   * volume with it.
   */
  private async leaveAsFound(): Promise<void> {
    const {stack} = this
    if (stack.startFailed) return
    const stop = !stack.foundRunning && !this.options.keepRunning && (stack.startedStack || stack.down)
    if (stop) {
      await this.leaveAsFoundPhase(async () => {
        await downStack(this.ctx, {volumes: false})
        stack.stopped = true
      })
    } else if ((stack.down && !stack.relaunchTried) || (await this.brokenByInterrupt())) {
      await this.leaveAsFoundPhase(async () => {
        await upStack(this.ctx, this.options.resolver, {shield: true})
        stack.down = false
      })
    }
  }

  /** An interrupt can land between a kill and the teardown: whatever the flags say, look at the stack. */
  private async brokenByInterrupt(): Promise<boolean> {
    if (!this.options.signal?.aborted || !(this.stack.foundRunning || this.options.keepRunning)) return false
    const healthy = isHealthy(await stackStatus(this.ctx))
    if (!healthy) this.stack.down = true
    return !healthy
  }

  private async leaveAsFoundPhase(body: () => Promise<void>): Promise<void> {
    try {
      await this.phase('leave-as-found', async () => ok(await body()))
    } catch (error) {
      debug('leaving the stack as found failed: %O', error)
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
    const {baseline, writes, reference, verified} = this.stages
    const written = writes?.written
    return {
      passed: this.reasons.length === 0,
      mode: this.options.mode,
      project: this.ctx.config.project,
      visitsRequested: this.options.visits,
      concurrency: this.options.concurrency,
      attempted: written?.attempted ?? 0,
      acknowledged: written?.acknowledged ?? 0,
      baseline: baseline?.snapshot.total ?? null,
      before: reference?.total ?? null,
      after: verified?.after.total ?? null,
      missing: verified?.missing.slice(0, MISSING_SHOWN) ?? [],
      missingCount: verified ? verified.missing.length : null,
      checksumBefore: reference?.checksum ?? null,
      checksumAfter: verified?.old.checksum ?? null,
      durability: this.stages.durability ?? null,
      kill: writes?.kill ?? null,
      volume: {
        name: this.volume,
        createdAtBefore: baseline?.volumeCreated ?? null,
        createdAtAfter: this.stages.volumeCreatedAfter ?? null,
        removedDuringCheck: (baseline?.watch.destroyEvents ?? 0) > 0,
        systemIdentifierBefore: baseline?.systemId ?? null,
        systemIdentifierAfter: verified?.systemId ?? null,
      },
      phases: this.phases,
      reasons: this.reasons,
      aborted: this.aborted,
      stack: {foundRunning: this.stack.foundRunning, leftRunning: this.leftRunning()},
      swarm: null,
    }
  }
}

/**
 * A stack checked through its API alone (the swarm's: its database is not on this engine). The pipeline below
 * asks it where to write, which acknowledged ids are gone, and what is wrong after the relaunch.
 */
export interface ApiStack {
  project: string
  volume: string
  /** Refuses a stack that cannot be checked (not healthy); returns the URL visits are written through. */
  prepare(): Promise<{url: string}>
  /** The acknowledged ids the database no longer has. */
  missing(ids: readonly number[]): Promise<number[]>
  /** Visits in the database now, when the API says. */
  total(): Promise<number | null>
  /** After the relaunch: what is wrong with where the data lives, and the swarm's db node before and after. */
  audit(): Promise<{reasons: string[]; dbNodeBefore: string; dbNodeAfter: string}>
}

export interface DisruptionOutcome {
  written: WriteResult
  /** What was done to the stack, for the report. */
  description: string
  problems: string[]
}

/** One way of taking a piece of the stack away while (or after) visits are written, and bringing it back. */
export interface Disruption {
  readonly mode: VerifyMode
  /** Writes visits through `url` before the disruption or while it happens. */
  disrupt(
    url: string,
    settings: {visits: number; concurrency: number},
    signal?: AbortSignal,
  ): Promise<DisruptionOutcome>
  /** Brings the stack back and waits until it serves again. */
  relaunch(signal?: AbortSignal): Promise<void>
}

/**
 * write → disrupt → relaunch → verify → audit over any stack and disruption: every acknowledged id must be
 * there afterwards, at least one visit must have been acknowledged (or nothing was proven), and the audit's
 * findings are reasons too. The result is the same shape as the Compose check's.
 */
export async function verifyWithDisruption(
  stack: ApiStack,
  disruption: Disruption,
  settings: {visits: number; concurrency: number; signal?: AbortSignal; progress?: (line: string) => void},
): Promise<PersistenceResult> {
  const phases: PhaseResult[] = []
  const reasons: string[] = []
  const progress = settings.progress ?? (() => {})
  const timed = async <T>(name: string, body: () => Promise<T>): Promise<T> => {
    progress(`verify-persistence: ${name}`)
    const started = performance.now()
    try {
      const value = await body()
      phases.push({name, ms: Math.round(performance.now() - started), ok: true})
      return value
    } catch (error) {
      phases.push({name, ms: Math.round(performance.now() - started), ok: false})
      throw error
    }
  }
  const {url} = await timed('prepare', () => stack.prepare())
  const outcome = await timed('disrupt', () => disruption.disrupt(url, settings, settings.signal))
  reasons.push(...outcome.problems)
  await timed('relaunch', () => disruption.relaunch(settings.signal))
  const {written} = outcome
  const missing = await timed('verify', () => stack.missing(written.acknowledgedIds))
  reasons.push(...writeReasons(written, missing, outcome.description))
  const audit = await timed('audit', () => stack.audit())
  reasons.push(...audit.reasons)
  return {
    passed: reasons.length === 0,
    mode: disruption.mode,
    project: stack.project,
    visitsRequested: settings.visits,
    concurrency: settings.concurrency,
    attempted: written.attempted,
    acknowledged: written.acknowledged,
    baseline: null,
    before: null,
    after: await stack.total(),
    missing: [...missing].sort((a, b) => a - b).slice(0, MISSING_SHOWN),
    missingCount: missing.length,
    checksumBefore: null,
    checksumAfter: null,
    durability: null,
    kill: null,
    volume: {
      name: stack.volume,
      createdAtBefore: null,
      createdAtAfter: null,
      removedDuringCheck: false,
      systemIdentifierBefore: null,
      systemIdentifierAfter: null,
    },
    phases,
    reasons,
    aborted: null,
    stack: {foundRunning: true, leftRunning: true},
    swarm: {disruption: outcome.description, dbNodeBefore: audit.dbNodeBefore, dbNodeAfter: audit.dbNodeAfter},
  }
}

/** The judgement of the writes: every acknowledged visit kept, and at least one acknowledged. */
export function writeReasons(written: WriteResult, missing: readonly number[], disruption: string): string[] {
  return [
    ...(missing.length > 0 ? [`${missing.length} acknowledged visits are missing after ${disruption}`] : []),
    ...(written.acknowledged === 0 ? ['no visit was acknowledged, so nothing was proven'] : []),
  ]
}
