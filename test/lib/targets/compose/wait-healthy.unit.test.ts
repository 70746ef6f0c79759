/** `up`'s own health wait: what one look at the containers means, and the polling loop over a stub engine. */
import {expect} from 'chai'

import type {ContainerFacts} from '../../../../src/lib/targets/compose/diagnose.js'
import {
  judgeStartup,
  newWaitMemory,
  serviceProgress,
  waitHealthy,
  UNHEALTHY_GRACE_MS,
  graceFor,
} from '../../../../src/lib/targets/compose/wait-healthy.js'
import {StubEngine} from '../../../support/stub-stack.js'

function facts(service: string, over: Partial<ContainerFacts> = {}): ContainerFacts {
  return {
    service,
    state: 'running',
    health: 'healthy',
    restartCount: 0,
    dependsOn: service === 'app' ? ['db'] : [],
    composeFiles: [],
    logTail: '',
    ...over,
  }
}

const SERVICES = ['db', 'app']

describe('up: waiting for health', () => {
  describe('judgeStartup', () => {
    it('is done when every service runs healthy, and waits for a missing or starting one', () => {
      const memory = newWaitMemory()
      expect(judgeStartup([facts('db'), facts('app')], SERVICES, memory, 0)).to.deep.equal({state: 'healthy'})
      expect(judgeStartup([facts('db')], SERVICES, memory, 0)).to.deep.equal({state: 'waiting', pending: ['app']})
      expect(judgeStartup([facts('db', {health: 'starting'}), facts('app')], SERVICES, memory, 0)).to.deep.equal({
        state: 'waiting',
        pending: ['db'],
      })
    })

    it('waits for an app that is unhealthy while its db is not yet healthy, however long', () => {
      // The case Compose's --wait got wrong: the db was stopped, the app unhealthy only because of that.
      const memory = newWaitMemory()
      const look = (db: Partial<ContainerFacts>) =>
        judgeStartup([facts('db', db), facts('app', {health: 'unhealthy'})], SERVICES, memory, 60_000 * 10)
      expect(look({health: 'starting'})).to.deep.equal({state: 'waiting', pending: ['db', 'app']})
      expect(look({health: 'unhealthy'})).to.deep.equal({state: 'waiting', pending: ['db', 'app']})
    })

    it('gives an unhealthy app a grace period that starts once its db is healthy, then fails it', () => {
      const memory = newWaitMemory()
      const look = (now: number) =>
        judgeStartup([facts('db'), facts('app', {health: 'unhealthy'})], SERVICES, memory, now)
      expect(look(1_000)).to.deep.equal({state: 'waiting', pending: ['app']})
      expect(look(1_000 + UNHEALTHY_GRACE_MS - 1)).to.deep.equal({state: 'waiting', pending: ['app']})
      expect(look(1_000 + UNHEALTHY_GRACE_MS)).to.deep.equal({state: 'failed', service: 'app'})
    })

    it("takes the grace from the container's own check where the engine reports its timing", () => {
      // An override's check every 1 s with a 10 s timeout: one interval + timeout + 5 s slack, not the 75 s.
      const quick = newWaitMemory()
      const lookQuick = (now: number) =>
        judgeStartup(
          [facts('db'), facts('app', {health: 'unhealthy', healthIntervalMs: 1_000, healthTimeoutMs: 10_000})],
          SERVICES,
          quick,
          now,
        )
      expect(lookQuick(0)).to.deep.equal({state: 'waiting', pending: ['app']})
      expect(lookQuick(15_999)).to.deep.equal({state: 'waiting', pending: ['app']})
      expect(lookQuick(16_000)).to.deep.equal({state: 'failed', service: 'app'})
      // A check every 5 min: one passing check can be that far away, so the wait gives it that long.
      const slow = newWaitMemory()
      const lookSlow = (now: number) =>
        judgeStartup([facts('db'), facts('app', {health: 'unhealthy', healthIntervalMs: 300_000})], SERVICES, slow, now)
      lookSlow(0)
      expect(lookSlow(UNHEALTHY_GRACE_MS)).to.deep.equal({state: 'waiting', pending: ['app']})
      // the engine's default timeout (30 s) when only the interval is set
      expect(lookSlow(335_000)).to.deep.equal({state: 'failed', service: 'app'})
      expect(graceFor({}, 1234)).to.equal(1234)
    })

    it('starts the grace period again when the app was healthy in between', () => {
      const memory = newWaitMemory()
      judgeStartup([facts('db'), facts('app', {health: 'unhealthy'})], SERVICES, memory, 0)
      judgeStartup([facts('db'), facts('app')], SERVICES, memory, 5_000)
      const later = judgeStartup([facts('db'), facts('app', {health: 'unhealthy'})], SERVICES, memory, 16_000)
      expect(later).to.deep.equal({state: 'waiting', pending: ['app']})
    })

    it('fails at once on an exit, a dead or paused container, a start error, or a restart during this up', () => {
      const cases: Array<Partial<ContainerFacts>> = [
        {state: 'exited', exitCode: 1},
        {state: 'dead'},
        {state: 'paused'},
        {state: 'created', error: 'port is already allocated'},
        {state: 'restarting', restartCount: 1},
        {state: 'running', health: 'starting', restartCount: 3},
      ]
      for (const db of cases) {
        const verdict = judgeStartup([facts('db', db), facts('app')], SERVICES, newWaitMemory(), 0)
        expect(verdict, JSON.stringify(db)).to.deep.equal({state: 'failed', service: 'db'})
      }
    })

    it('does not count restarts from before this up', () => {
      const memory = newWaitMemory([{service: 'app', restartCount: 4}])
      const verdict = judgeStartup([facts('db'), facts('app', {restartCount: 4})], SERVICES, memory, 0)
      expect(verdict).to.deep.equal({state: 'healthy'})
      expect(judgeStartup([facts('db'), facts('app', {restartCount: 5})], SERVICES, memory, 0)).to.deep.equal({
        state: 'failed',
        service: 'app',
      })
    })

    it('blames the db before the app that waits for it', () => {
      const verdict = judgeStartup(
        [facts('app', {state: 'exited'}), facts('db', {state: 'exited'})],
        SERVICES,
        newWaitMemory(),
        0,
      )
      expect(verdict).to.deep.equal({state: 'failed', service: 'db'})
    })
  })

  describe('waitHealthy', () => {
    function clock() {
      let now = 1_000_000
      return {now: () => now, sleep: async (ms: number) => void (now += ms), advance: (ms: number) => (now += ms)}
    }

    /** A display stand-in: the parts done and the last "waiting for" text, in the order they came. */
    function shownOn(sinceMs: number) {
      const seen: string[] = []
      const shown = serviceProgress(
        {
          partDone: (label, ms) => seen.push(`${label} ${ms} ms`),
          waiting: (text) => {
            if (seen.at(-1) !== `· ${text}`) seen.push(`· ${text}`)
          },
        },
        sinceMs,
      )
      return {seen, shown}
    }

    it('shows each service once as it turns healthy, in start order, with the time since the step began', async () => {
      const engine = new StubEngine()
        .addContainer({name: 'demo-db-1', service: 'db', project: 'demo', health: 'starting'})
        .addContainer({name: 'demo-app-1', service: 'app', project: 'demo', health: 'starting'})
      const time = clock()
      const {seen, shown} = shownOn(time.now() - 4000) // the step began 4 s before this wait
      let polls = 0
      await waitHealthy(engine.containers, {
        project: 'demo',
        services: SERVICES,
        startedMs: time.now(),
        deadlineMs: time.now() + 60_000,
        timeoutSeconds: 60,
        volume: 'demo_postgres_data',
        memory: newWaitMemory(),
        shown,
        now: time.now,
        sleep: async (ms) => {
          await time.sleep(ms)
          polls++
          if (polls === 2) engine.containersList[0].health = 'healthy'
          if (polls === 4) engine.containersList[1].health = 'healthy'
        },
      })
      expect(seen).to.deep.equal([
        '· waiting for db, app',
        'db healthy 5000 ms',
        '· waiting for app',
        'app healthy 6000 ms',
        '· undefined',
      ])
    })

    it('the db wait and the whole-stack wait of one step show the db once, both on the step’s clock', async () => {
      const engine = new StubEngine()
        .addContainer({name: 'demo-db-1', service: 'db', project: 'demo', health: 'starting'})
        .addContainer({name: 'demo-app-1', service: 'app', project: 'demo', health: 'starting'})
      const time = clock()
      const {seen, shown} = shownOn(time.now())
      const wait = (services: string[], onPoll: (poll: number) => void) => {
        let polls = 0
        return waitHealthy(engine.containers, {
          project: 'demo',
          services,
          startedMs: time.now(),
          deadlineMs: time.now() + 60_000,
          timeoutSeconds: 60,
          volume: 'demo_postgres_data',
          memory: newWaitMemory(),
          shown,
          now: time.now,
          sleep: async (ms) => {
            await time.sleep(ms)
            onPoll(++polls)
          },
        })
      }
      await wait(['db'], (poll) => poll === 2 && (engine.containersList[0].health = 'healthy'))
      time.advance(3000) // the restore-leftover repair between the two waits
      await wait(SERVICES, (poll) => poll === 1 && (engine.containersList[1].health = 'healthy'))
      const parts = seen.filter((line) => !line.startsWith('·'))
      expect(parts).to.deep.equal(['db healthy 1000 ms', 'app healthy 4500 ms'])
      // The control: a wait with a progress of its own (a new step) shows the db again, on its own clock.
      const other = shownOn(time.now())
      await waitHealthy(engine.containers, {
        project: 'demo',
        services: ['db'],
        startedMs: time.now(),
        deadlineMs: time.now() + 60_000,
        timeoutSeconds: 60,
        volume: 'demo_postgres_data',
        memory: newWaitMemory(),
        shown: other.shown,
        now: time.now,
        sleep: time.sleep,
      })
      expect(other.seen).to.deep.equal(['db healthy 0 ms', '· undefined'])
    })

    it('gives up at the deadline naming the service, how long it waited and the timeout', async () => {
      const engine = new StubEngine()
        .addContainer({name: 'demo-db-1', service: 'db', project: 'demo'})
        .addContainer({name: 'demo-app-1', service: 'app', project: 'demo', health: 'starting'})
      const time = clock()
      const error = await waitHealthy(engine.containers, {
        project: 'demo',
        services: SERVICES,
        startedMs: time.now(),
        deadlineMs: time.now() + 20_000,
        timeoutSeconds: 20,
        volume: 'demo_postgres_data',
        memory: newWaitMemory(),
        shown: serviceProgress({partDone: () => {}, waiting: () => {}}),
        now: time.now,
        sleep: time.sleep,
      }).catch((caught: unknown) => caught)
      expect(String(error)).to.include("service 'app' did not become healthy")
      expect(String(error)).to.include('up waits 20 s for health checks (--timeout)')
      expect(String(error)).to.include('up waited 20 s')
      expect(error).to.have.property('exitCode', 1)
    })

    it('stops at once when interrupted', async () => {
      const engine = new StubEngine().addContainer({name: 'demo-db-1', service: 'db', project: 'demo'})
      const controller = new AbortController()
      controller.abort(new Error('Ctrl-C received'))
      const error = await waitHealthy(engine.containers, {
        project: 'demo',
        services: SERVICES,
        startedMs: 0,
        deadlineMs: Date.now() + 60_000,
        timeoutSeconds: 60,
        volume: 'demo_postgres_data',
        memory: newWaitMemory(),
        shown: serviceProgress({partDone: () => {}, waiting: () => {}}),
        signal: controller.signal,
      }).catch((caught: unknown) => caught)
      expect(String(error)).to.include('Ctrl-C received')
    })
  })
})
