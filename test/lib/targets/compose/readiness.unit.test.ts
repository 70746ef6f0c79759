/**
 * stackctl's own readiness probe: what it overrules of the engine's health (only `starting`), what it asks
 * (the app first, the db only when the app cannot vouch for it), its one-line reasons, and the wait using it.
 */
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'

import {expect} from 'chai'

import {APP_PROBE_SCRIPT, pgIsReady} from '../../../../src/lib/model/stack-model.js'
import {
  isStackctlCheck,
  overlayReadiness,
  probeApp,
  type ProbeResult,
  type Probes,
} from '../../../../src/lib/targets/compose/readiness.js'
import {newWaitMemory, serviceProgress, waitHealthy} from '../../../../src/lib/targets/compose/wait-healthy.js'
import {StubEngine} from '../../../support/stub-stack.js'

const service = (name: string, health: string, state = 'running') => ({service: name, id: `${name}-id`, state, health})

function probes(app: ProbeResult, db: ProbeResult): Probes & {asked: string[]} {
  const asked: string[] = []
  return {
    asked,
    app: async () => (asked.push('app'), app),
    db: async (id) => (asked.push(`db ${id}`), db),
  }
}
const no = (reason: string): ProbeResult => ({ready: false, reason})

describe('readiness: stackctl probes what the engine has not checked yet', () => {
  describe('overlayReadiness', () => {
    it('calls a starting stack healthy when /healthz answers 200, without asking the db (200 vouches for it)', async () => {
      const p = probes({ready: true}, no('should not be asked'))
      const {services, reasons} = await overlayReadiness([service('db', 'starting'), service('app', 'starting')], p)
      expect(services.map((s) => s.health)).to.deep.equal(['healthy', 'healthy'])
      expect(p.asked).to.deep.equal(['app'])
      expect([...reasons]).to.deep.equal([])
    })

    it('asks the db when the app does not answer, and keeps each one’s reason (negative control)', async () => {
      const p = probes(no('db unavailable: connect ECONNREFUSED'), {ready: true})
      const {services, reasons} = await overlayReadiness([service('db', 'starting'), service('app', 'starting')], p)
      expect(services.map((s) => s.health)).to.deep.equal(['healthy', 'starting'])
      expect(p.asked).to.deep.equal(['app', 'db db-id'])
      expect(reasons.get('app')).to.equal('db unavailable: connect ECONNREFUSED')

      const q = probes(no('the API is not listening'), no('127.0.0.1:5432 - no response'))
      const other = await overlayReadiness([service('db', 'starting'), service('app', 'starting')], q)
      expect(other.services.map((s) => s.health)).to.deep.equal(['starting', 'starting'])
      expect(other.reasons.get('db')).to.equal('127.0.0.1:5432 - no response')
    })

    it('never overrules the engine’s evidence (unhealthy) nor asks about healthy or stopped services', async () => {
      const p = probes({ready: true}, {ready: true})
      const {services} = await overlayReadiness(
        [service('db', 'healthy'), service('app', 'unhealthy'), service('x', 'starting', 'exited')],
        p,
      )
      expect(services.map((s) => s.health)).to.deep.equal(['healthy', 'unhealthy', 'starting'])
      expect(p.asked).to.deep.equal([])
    })

    it('with recheckHealthy (status, doctor), asks a healthy stack once more and believes no answer over the engine', async () => {
      // The db refuses connections now; the engine's last check, up to a minute old, still says healthy.
      const failing = probes(no('db unavailable: database "visits" is not currently accepting connections'), {
        ready: true,
      })
      const rechecked = await overlayReadiness([service('db', 'healthy'), service('app', 'healthy')], failing, {
        recheckHealthy: true,
      })
      expect(rechecked.services.map((s) => s.health)).to.deep.equal(['healthy', 'unhealthy'])
      expect(rechecked.reasons.get('app')).to.match(/not currently accepting connections/)
      expect(failing.asked).to.deep.equal(['app', 'db db-id'])
      // The same stack without recheckHealthy (a wait, up's plan): the engine's word, nothing asked.
      const plain = probes(no('db unavailable'), {ready: true})
      const kept = await overlayReadiness([service('db', 'healthy'), service('app', 'healthy')], plain)
      expect(kept.services.map((s) => s.health)).to.deep.equal(['healthy', 'healthy'])
      expect(plain.asked).to.deep.equal([])
      // A healthy stack that answers: one GET, the db vouched for by it, nothing changed.
      const fine = probes({ready: true}, no('never asked'))
      const same = await overlayReadiness([service('db', 'healthy'), service('app', 'healthy')], fine, {
        recheckHealthy: true,
      })
      expect(same.services.map((s) => s.health)).to.deep.equal(['healthy', 'healthy'])
      expect(fine.asked).to.deep.equal(['app'])
    })

    it('stands in only for its own checks: a check of the user’s override is the engine’s to answer', async () => {
      const custom = ['CMD', 'node', '-e', 'process.exit(1)']
      const p = probes({ready: true}, {ready: true})
      const {services} = await overlayReadiness(
        [
          {...service('db', 'starting'), healthTest: ['CMD', ...pgIsReady()]},
          {...service('app', 'starting'), healthTest: custom},
        ],
        p,
      )
      expect(services.map((s) => s.health)).to.deep.equal(['healthy', 'starting'])
      expect(p.asked).to.deep.equal(['db db-id'])
    })

    it('knows its checks as the engine runs them ($$ made $ by Compose), the dev runner’s too', () => {
      expect(isStackctlCheck('app', ['CMD', 'bash', '-c', APP_PROBE_SCRIPT.replaceAll('$$', '$')])).to.equal(true)
      expect(isStackctlCheck('app', ['CMD', 'node', '/tmp/stackctl-dev/server.mjs', 'healthcheck'])).to.equal(true)
      expect(isStackctlCheck('db', ['CMD', ...pgIsReady()])).to.equal(true)
      expect(isStackctlCheck('app', ['CMD', 'bash', '-c', 'exit 0'])).to.equal(false)
      expect(isStackctlCheck('db', ['CMD', 'pg_isready'])).to.equal(false)
    })

    it('knows its app check as Podman 4.3 keeps it (split at every blank), and still not another check', () => {
      const split = ['bash', '-c', ...APP_PROBE_SCRIPT.replaceAll('$$', '$').split(/\s+/)]
      expect(isStackctlCheck('app', ['CMD', ...split])).to.equal(true)
      expect(isStackctlCheck('app', ['CMD', ...split.slice(0, -1), 'exit', '0'])).to.equal(false)
    })
  })

  describe('probeApp', () => {
    let server: Server
    let answer: {status: number; body: string; stack?: string}
    let url: string
    before(async () => {
      server = createServer((request, response) => {
        expect(request.url).to.equal('/healthz')
        const stack = answer.stack === undefined ? {} : {'x-stackctl-stack': answer.stack}
        response.writeHead(answer.status, {'content-type': 'application/json', ...stack}).end(answer.body)
      })
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    })
    after(() => server.close())

    it('is ready on 200, and gives the in-container probe’s reasons otherwise', async () => {
      answer = {status: 200, body: '{"status":"ok"}'}
      expect(await probeApp(url)).to.deep.equal({ready: true})
      answer = {status: 503, body: '{"status":"unavailable","reason":"the database system is starting up"}'}
      expect(await probeApp(url)).to.deep.equal({
        ready: false,
        reason: 'db unavailable: the database system is starting up',
      })
      answer = {status: 500, body: 'oops'}
      expect(await probeApp(url)).to.deep.equal({ready: false, reason: '/healthz answered HTTP 500'})
    })

    it('is not ready when another stack’s API answers on the port, even with 200 (an old API without the header is)', async () => {
      answer = {status: 200, body: '{"status":"ok"}', stack: 'theirs'}
      expect(await probeApp(url, 3000, 'ours')).to.deep.equal({
        ready: false,
        reason:
          "the port is answered by the API of another stack (theirs), not this one's (ours): another engine's container or a forwarding rule left behind holds it",
      })
      // Controls: its own stack, and an API from before the header, are ready; without an expectation, anyone is.
      answer = {status: 200, body: '{"status":"ok"}', stack: 'ours'}
      expect(await probeApp(url, 3000, 'ours')).to.deep.equal({ready: true})
      answer = {status: 200, body: '{"status":"ok"}'}
      expect(await probeApp(url, 3000, 'ours')).to.deep.equal({ready: true})
      answer = {status: 200, body: '{"status":"ok"}', stack: 'theirs'}
      expect(await probeApp(url)).to.deep.equal({ready: true})
    })

    it('says the API is not listening when nothing answers on the port', async () => {
      const closed = createServer()
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
      const port = (closed.address() as AddressInfo).port
      await new Promise((resolve) => closed.close(resolve))
      const result = await probeApp(`http://127.0.0.1:${port}`)
      expect(result).to.deep.equal({
        ready: false,
        reason: `the API is not listening on port ${port} yet: it is starting or waiting for the database (see its log)`,
      })
    })
  })

  describe('waitHealthy with the probe', () => {
    const options = (p: Probes | undefined) => {
      let now = 1_000_000
      return {
        project: 'demo',
        services: ['db', 'app'],
        startedMs: now,
        deadlineMs: now + 20_000,
        timeoutSeconds: 20,
        volume: 'demo_postgres_data',
        memory: newWaitMemory(),
        probes: p,
        shown: serviceProgress({partDone: () => {}, waiting: () => {}}),
        now: () => now,
        sleep: async (ms: number) => void (now += ms),
      }
    }
    const starting = () =>
      new StubEngine()
        .addContainer({name: 'demo-db-1', service: 'db', project: 'demo', health: 'starting'})
        .addContainer({name: 'demo-app-1', service: 'app', project: 'demo', health: 'starting'})

    it('is done as soon as the stack answers, while the engine still says starting', async () => {
      await waitHealthy(starting().containers, options(probes({ready: true}, {ready: true})))
    })

    it('a failed start blames the service that failed, not a db the probe found ready while the engine says starting', async () => {
      // The engine runs its first check 30 s after a start: a crashing app fails the wait long before that.
      const engine = new StubEngine()
        .addContainer({name: 'demo-db-1', service: 'db', project: 'demo', health: 'starting'})
        .addContainer({
          name: 'demo-app-1',
          service: 'app',
          project: 'demo',
          state: 'restarting',
          health: 'starting',
          labels: {'com.docker.compose.depends_on': 'db:service_started:true'},
        })
      const p = probes(no('the API is not listening on port 5000 yet'), {ready: true})
      const error = await waitHealthy(engine.containers, options(p)).catch((caught: unknown) => caught)
      expect(String(error)).to.match(/app/)
      expect(String(error)).not.to.match(/service 'db'|db did not|logs db/)
    })

    it('trusts a stack that answers over an unhealthy left from before (the engine checks again only 30 s later)', async () => {
      // The app was marked unhealthy while its db was down; the db is back and /healthz answers 200 now.
      const stale = () =>
        new StubEngine()
          .addContainer({name: 'demo-db-1', service: 'db', project: 'demo', health: 'healthy'})
          .addContainer({name: 'demo-app-1', service: 'app', project: 'demo', health: 'unhealthy'})
      const opts = options(probes({ready: true}, {ready: true}))
      await waitHealthy(stale().containers, opts)
      expect(opts.now() - opts.startedMs).to.equal(0) // done at the first look, no wait for the engine
      // Negative control: when the app does not answer, the engine's unhealthy stands and the wait fails on it.
      const error = await waitHealthy(
        stale().containers,
        options(probes(no('db unavailable: x'), {ready: true})),
      ).catch((caught: unknown) => caught)
      expect(String(error)).to.match(/app/)
    })

    it('without an answer waits for the engine, and a timeout gives the probe’s last reason', async () => {
      const engine = starting()
      const p = probes(no('db unavailable: password authentication failed'), no('127.0.0.1:5432 - no response'))
      const error = await waitHealthy(engine.containers, options(p)).catch((caught: unknown) => caught)
      // The stub's containers carry no depends_on label: the app comes first by name.
      expect(String(error)).to.include("service 'app' did not become healthy")
      expect(String(error)).to.include('last health check: db unavailable: password authentication failed')
    })
  })
})
