/**
 * The one persistence pipeline (prepare → baseline → write → snapshot → disrupt → relaunch → verify → audit →
 * leave as found) judged over a stub stack and a stub disruption: a lost acknowledged visit fails the check with
 * a reason (and the same run without the loss passes: the negative control), nothing acknowledged proves
 * nothing, the disruption's and the audit's findings are reasons, an interrupt during the disruption lets it
 * finish, brings the stack back and ends with exit 130, and the display shows nested steps in order.
 */
import {expect} from 'chai'

import {Interrupted} from '../../../../src/lib/errors.js'
import type {WriteResult} from '../../../../src/lib/operations/verify/load.js'
import {MISSING_SHOWN} from '../../../../src/lib/operations/verify/result.js'
import {
  NOTHING_ACKNOWLEDGED,
  verifyWithDisruption,
  type CheckedStack,
  type Disruption,
  type PipelineSettings,
} from '../../../../src/lib/operations/verify/verify.js'
import {missingProblems} from '../../../../src/lib/operations/verify/checks.js'
import {StepRunner, type StepReporter} from '../../../../src/lib/plan/runner.js'

function written(ids: number[], failed = 0): WriteResult {
  return {
    attempted: ids.length + failed,
    acknowledged: ids.length,
    failed,
    inFlight: 0,
    acknowledgedIds: ids,
    errors: failed ? ['ECONNRESET'] : [],
  }
}

interface StubOptions {
  ids: number[]
  /** Ids the relaunch loses. */
  lose?: number[]
  /** The disruption writes as its own step (Compose) instead of while it disrupts (swarm). */
  writeStep?: boolean
  foundRunning?: boolean
  dbNodeAfter?: string
  problems?: string[]
  /** Runs inside the disrupt step (an interrupt arriving while the stack is taken apart). */
  duringDisrupt?: () => void
  /** Thrown by the relaunch. */
  relaunchError?: Error
  /** Thrown by start (bringing the stack back as found). */
  startError?: Error
}

/** A database of ids: the disruption may lose some; the stack reports what is gone. */
function stubs(options: StubOptions) {
  const stored = new Set<number>()
  const calls: string[] = []
  const events: string[] = []
  const reporter: StepReporter = {
    started: (label, depth) => events.push(`${'  '.repeat(depth)}> ${label}`),
    finished: (label, depth, status) => events.push(`${'  '.repeat(depth)}${status} ${label}`),
    line: (text) => events.push(`| ${text}`),
  }
  const steps = new StepRunner({reporter})
  let serving = options.foundRunning ?? true
  const stack: CheckedStack = {
    project: 'demo',
    volume: 'demo_postgres_data',
    again: 'stackctl verify-persistence --project-name demo',
    async prepare() {
      calls.push('prepare')
      const foundRunning = serving
      serving = true
      return {url: 'http://127.0.0.1:1', foundRunning, startedStack: !foundRunning}
    },
    async baseline() {
      calls.push('baseline')
      return []
    },
    async snapshot(w) {
      calls.push(`snapshot ${w.acknowledged}`)
      return []
    },
    async verify(w) {
      calls.push('verify')
      const missing = w.acknowledgedIds.filter((id) => !stored.has(id))
      return {missing, problems: missingProblems(missing, w.acknowledged)}
    },
    async audit() {
      calls.push('audit')
      const after = options.dbNodeAfter ?? 'node-1'
      return after === 'node-1' ? [] : [`the db moved from node-1 to ${after}`]
    },
    async start() {
      calls.push('start')
      if (options.startError) throw options.startError
      serving = true
    },
    async stop() {
      calls.push('stop')
      serving = false
    },
    async healthy() {
      return serving
    },
    async sql(query) {
      calls.push(`sql ${query}`)
      return ''
    },
    report: (disruption) => ({
      baseline: null,
      before: null,
      after: stored.size,
      checksumBefore: null,
      checksumAfter: null,
      durability: null,
      volume: {
        name: 'demo_postgres_data',
        createdAtBefore: null,
        createdAtAfter: null,
        removedDuringCheck: false,
        systemIdentifierBefore: null,
        systemIdentifierAfter: null,
      },
      swarm: {
        disruption: disruption?.description ?? 'not disrupted',
        dbNodeBefore: 'node-1',
        dbNodeAfter: 'node-1',
        failover: null,
      },
    }),
  }
  const store = () => {
    for (const id of options.ids) stored.add(id)
    return written(options.ids)
  }
  const disruption: Disruption = {
    mode: 'kill',
    step: 'disrupt',
    ...(options.writeStep
      ? {
          async write(url, settings) {
            calls.push(`write ${url} ${settings.visits}/${settings.concurrency}`)
            return {written: store(), kill: null, problems: []}
          },
        }
      : {}),
    async disrupt(url, settings) {
      calls.push(`disrupt ${url} ${settings.visits}/${settings.concurrency}`)
      serving = false
      options.duringDisrupt?.()
      const w = options.writeStep ? undefined : store()
      return {written: w, description: 'a stub kill', problems: options.problems ?? []}
    },
    async relaunch() {
      calls.push('relaunch')
      // The relaunch's own step (like `up`'s), which the display must show inside relaunch.
      await steps.step('start containers', async () => undefined)
      if (options.relaunchError) throw options.relaunchError
      for (const id of options.lose ?? []) stored.delete(id)
      serving = true
    },
  }
  const settings = (extra: Partial<PipelineSettings> = {}): PipelineSettings => ({
    visits: 5,
    concurrency: 2,
    steps,
    progress: (line) => events.push(line),
    ...extra,
  })
  return {stack, disruption, calls, events, settings}
}

describe('verifyWithDisruption (the persistence pipeline)', () => {
  it('passes when every acknowledged visit survives (the negative control of the next test)', async () => {
    const {stack, disruption, calls, settings} = stubs({ids: [1, 2, 3, 4, 5]})
    const result = await verifyWithDisruption(stack, disruption, settings())
    expect(result).to.include({passed: true, mode: 'kill', acknowledged: 5, missingCount: 0, after: 5})
    expect(result.reasons).to.deep.equal([])
    expect(calls).to.deep.equal([
      'prepare',
      'baseline',
      'disrupt http://127.0.0.1:1 5/2',
      'relaunch',
      'verify',
      'audit',
    ])
    expect(result.phases.map((p) => p.name)).to.deep.equal([
      'prepare',
      'baseline',
      'disrupt',
      'relaunch',
      'verify',
      'audit',
    ])
    expect(result.swarm).to.deep.equal({
      disruption: 'a stub kill',
      dbNodeBefore: 'node-1',
      dbNodeAfter: 'node-1',
      failover: null,
    })
    expect(result.stack).to.deep.equal({foundRunning: true, leftRunning: true})
    expect(result.aborted).to.equal(null)
  })

  it('fails with a reason when an acknowledged visit is lost across the relaunch', async () => {
    const {stack, disruption, settings} = stubs({ids: [1, 2, 3, 4, 5], lose: [4]})
    const result = await verifyWithDisruption(stack, disruption, settings())
    expect(result.passed).to.equal(false)
    expect(result.missingCount).to.equal(1)
    expect(result.missing).to.deep.equal([4])
    expect(result.reasons).to.deep.equal(['1 of 5 acknowledged visits are missing after the relaunch: ids 4'])
    expect(result.phases.find((p) => p.name === 'verify')?.ok).to.equal(false)
  })

  it('fails a lost visit even when the stack names no problem for it', async () => {
    const {stack, disruption, settings} = stubs({ids: [1, 2, 3], lose: [2]})
    const quiet: CheckedStack = Object.assign(Object.create(stack) as CheckedStack, {
      verify: async (w: WriteResult) => ({missing: (await stack.verify(w)).missing, problems: []}),
    })
    const result = await verifyWithDisruption(quiet, disruption, settings())
    expect(result.passed).to.equal(false)
    expect(result.missingCount).to.equal(1)
  })

  it('shows at most MISSING_SHOWN missing ids, lowest first, and counts them all', async () => {
    const ids = Array.from({length: MISSING_SHOWN + 10}, (_, i) => 100 - i)
    const {stack, disruption, settings} = stubs({ids, lose: ids})
    const result = await verifyWithDisruption(stack, disruption, settings())
    expect(result.missingCount).to.equal(ids.length)
    expect(result.missing).to.have.length(MISSING_SHOWN)
    expect(result.missing[0]).to.equal(Math.min(...ids))
  })

  it('fails when nothing was acknowledged: nothing was proven', async () => {
    const {stack, disruption, settings} = stubs({ids: []})
    const result = await verifyWithDisruption(stack, disruption, settings())
    expect(result.passed).to.equal(false)
    expect(result.reasons).to.deep.equal([NOTHING_ACKNOWLEDGED])
  })

  it('fails on the disruption’s own problems and on the audit’s findings', async () => {
    const {stack, disruption, settings} = stubs({
      ids: [1, 2],
      problems: ['3 visits failed while node-2 was drained'],
      dbNodeAfter: 'node-3',
    })
    const result = await verifyWithDisruption(stack, disruption, settings())
    expect(result.passed).to.equal(false)
    expect(result.reasons).to.deep.equal([
      '3 visits failed while node-2 was drained',
      'the db moved from node-1 to node-3',
    ])
  })

  it('runs a write step and the snapshot before the disruption when the disruption has one (Compose)', async () => {
    const {stack, disruption, calls, settings} = stubs({ids: [1, 2, 3], writeStep: true})
    const result = await verifyWithDisruption(stack, disruption, settings())
    expect(result.passed).to.equal(true)
    expect(calls.slice(0, 5)).to.deep.equal([
      'prepare',
      'baseline',
      'write http://127.0.0.1:1 5/2',
      'snapshot 3',
      'disrupt http://127.0.0.1:1 5/2',
    ])
    expect(result.phases.map((p) => p.name)).to.deep.equal([
      'prepare',
      'baseline',
      'write',
      'snapshot',
      'disrupt',
      'relaunch',
      'verify',
      'audit',
    ])
    const noSnapshot = stubs({ids: [1], writeStep: true})
    const killed = await verifyWithDisruption(
      noSnapshot.stack,
      {...noSnapshot.disruption, dbDownAfterWrites: true},
      noSnapshot.settings(),
    )
    expect(killed.phases.map((p) => p.name)).to.not.include('snapshot')
  })

  it('prints nested steps in order: relaunch’s own step inside relaunch, each ✔ after its children', async () => {
    const {stack, disruption, events, settings} = stubs({ids: [1]})
    await verifyWithDisruption(stack, disruption, settings())
    expect(events).to.deep.equal([
      'verify-persistence: prepare',
      '> prepare',
      'done prepare',
      'verify-persistence: baseline',
      '> baseline',
      'done baseline',
      'verify-persistence: disrupt',
      '> disrupt',
      'done disrupt',
      'verify-persistence: relaunch',
      '> relaunch',
      '  > start containers',
      '  done start containers',
      'done relaunch',
      'verify-persistence: verify',
      '> verify',
      'done verify',
      'verify-persistence: audit',
      '> audit',
      'done audit',
    ])
  })

  it('an interrupt whose bring-back fails says so instead of "brought back as found"', async () => {
    const controller = new AbortController()
    const {stack, disruption, calls, settings} = stubs({
      ids: [1, 2],
      duringDisrupt: () => controller.abort(),
      startError: new Error('deploy: a task did not start\nmore detail'),
    })
    const error = await verifyWithDisruption(stack, disruption, settings({signal: controller.signal})).then(
      () => undefined,
      (error: unknown) => error,
    )
    expect(error).to.be.instanceOf(Interrupted)
    expect((error as Interrupted).message).to.equal(
      'interrupted: verify-persistence stopped before its relaunch phase; nothing was verified; bringing it back as found failed (deploy: a task did not start): it may not be running healthy; the volume demo_postgres_data was not touched',
    )
    expect(calls.at(-1)).to.equal('start')
  })

  it('an interrupt during the disruption: it finishes, the stack is brought back, exit 130 says so', async () => {
    const controller = new AbortController()
    const {stack, disruption, calls, events, settings} = stubs({ids: [1, 2], duringDisrupt: () => controller.abort()})
    const error = await verifyWithDisruption(stack, disruption, settings({signal: controller.signal})).then(
      () => undefined,
      (error: unknown) => error,
    )
    expect(error).to.be.instanceOf(Interrupted)
    expect((error as Interrupted).exitCode).to.equal(130)
    expect((error as Interrupted).message).to.equal(
      'interrupted: verify-persistence stopped before its relaunch phase; nothing was verified, brought back as found (running); the volume demo_postgres_data was not touched',
    )
    expect((error as Interrupted).suggestion).to.equal(
      'run stackctl verify-persistence --project-name demo again when you are ready',
    )
    // The disruption finished (it is shielded), no later step started, and the undo (start) ran.
    expect(calls).to.deep.equal(['prepare', 'baseline', 'disrupt http://127.0.0.1:1 5/2', 'start'])
    expect(events.filter((e) => e.startsWith('done') || e.startsWith('failed'))).to.deep.equal([
      'done prepare',
      'done baseline',
      'done disrupt',
      'done leave-as-found',
    ])
  })

  it('without the interrupt the same run does not bring the stack back by hand (the control)', async () => {
    const {stack, disruption, calls, settings} = stubs({ids: [1, 2]})
    await verifyWithDisruption(stack, disruption, settings({signal: new AbortController().signal}))
    expect(calls).to.not.include('start')
  })

  it('a failed relaunch is reported as the aborted step, with the stack left down', async () => {
    const {stack, disruption, calls, settings} = stubs({ids: [1], relaunchError: new Error('no db')})
    const result = await verifyWithDisruption(stack, disruption, settings())
    expect(result.passed).to.equal(false)
    expect(result.aborted).to.deep.equal({phase: 'relaunch', message: 'no db', exitCode: 1})
    expect(result.reasons).to.deep.equal(['relaunch: no db'])
    expect(result.missingCount).to.equal(null)
    expect(result.stack).to.deep.equal({foundRunning: true, leftRunning: false})
    expect(calls).to.not.include('start')
  })

  it('a disruption the orchestrator heals by itself is not redeployed when it fails (a swarm’s kill, drain)', async () => {
    const failing = (healsItself: boolean) => {
      const stub = stubs({ids: [1]})
      const disruption: Disruption = {
        ...stub.disruption,
        healsItself,
        disrupt: () => Promise.reject(new Error('no node to drain')),
      }
      return {...stub, disruption}
    }
    const healing = failing(true)
    const result = await verifyWithDisruption(healing.stack, healing.disruption, healing.settings())
    expect(result.aborted).to.deep.include({phase: 'disrupt', message: 'no node to drain'})
    expect(healing.calls).to.not.include('start')
    // The control: a disruption that took the stack down (compose down, stack rm) is brought back.
    const down = failing(false)
    await verifyWithDisruption(down.stack, down.disruption, down.settings())
    expect(down.calls.at(-1)).to.equal('start')
  })

  it('a hook that breaks after the disruption: the stack it found running is started again', async () => {
    const {stack, disruption, calls, settings} = stubs({ids: [1]})
    const result = await verifyWithDisruption(
      stack,
      disruption,
      settings({
        hooks: {
          afterTeardown() {
            throw new Error('broken on purpose')
          },
        },
      }),
    )
    expect(result.reasons).to.deep.equal(['afterTeardown hook: broken on purpose'])
    expect(result.phases.map((p) => p.name)).to.deep.equal(['prepare', 'baseline', 'disrupt', 'leave-as-found'])
    expect(result.stack).to.deep.equal({foundRunning: true, leftRunning: true})
    expect(calls.at(-1)).to.equal('start')
  })

  it('a stack found stopped is started for the check and stopped again', async () => {
    const {stack, disruption, calls, settings} = stubs({ids: [1], foundRunning: false})
    const result = await verifyWithDisruption(stack, disruption, settings())
    expect(result.passed).to.equal(true)
    expect(result.stack).to.deep.equal({foundRunning: false, leftRunning: false})
    expect(calls.at(-1)).to.equal('stop')
    const kept = stubs({ids: [1], foundRunning: false})
    const running = await verifyWithDisruption(kept.stack, kept.disruption, kept.settings({keepRunning: true}))
    expect(running.stack).to.deep.equal({foundRunning: false, leftRunning: true})
    expect(kept.calls).to.not.include('stop')
  })

  it('hooks see the acknowledged ids and run SQL through the stack', async () => {
    const {stack, disruption, calls, settings} = stubs({ids: [7, 8]})
    let seen: readonly number[] = []
    await verifyWithDisruption(
      stack,
      disruption,
      settings({
        hooks: {
          async beforeVerify(run) {
            seen = run.acknowledgedIds
            await run.sql('SELECT 1')
          },
        },
      }),
    )
    expect(seen).to.deep.equal([7, 8])
    expect(calls).to.include('sql SELECT 1')
  })
})
