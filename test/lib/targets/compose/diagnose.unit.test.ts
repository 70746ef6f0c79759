import {expect} from 'chai'

import type {ContainerClient, ContainerDetails, ContainerSummary} from '../../../../src/lib/engine/engine.js'
import {
  collectFacts,
  type ContainerFacts,
  type DiagnoseContext,
  diagnoseStartup,
  formatSeconds,
  parseDependsOn,
  startOrder,
} from '../../../../src/lib/targets/compose/diagnose.js'

const NOW = new Date('2026-11-25T10:00:00.000Z')
const ctx: DiagnoseContext = {now: NOW, timeoutSeconds: 120, volume: 'demo_postgres_data'}
const secondsAgo = (seconds: number) => new Date(NOW.getTime() - seconds * 1000)

function container(service: string, changes: Partial<ContainerFacts> = {}): ContainerFacts {
  return {
    service,
    state: 'running',
    health: 'healthy',
    exitCode: 0,
    restartCount: 0,
    startedAt: secondsAgo(10),
    dependsOn: service === 'app' ? ['db'] : [],
    composeFiles: ['/s/docker-compose.yml'],
    logTail: `${service} log line\n`,
    ...changes,
  }
}

/** The db exited at once on a bad setting; the app was created and never started, waiting for it. */
const dbExited = container('db', {
  state: 'exited',
  health: 'unhealthy',
  exitCode: 1,
  startedAt: secondsAgo(3),
  finishedAt: new Date(secondsAgo(3).getTime() + 400),
  composeFiles: ['/s/docker-compose.yml', '/s/docker-compose.override.yml'],
  logTail: 'FATAL:  unrecognized configuration parameter "nonsense"\n',
})
const appWaiting = container('app', {state: 'created', health: 'none', startedAt: undefined, logTail: ''})

describe('startup diagnosis', () => {
  it('orders every service after its dependencies, visiting services by name', () => {
    const order = startOrder([
      container('app', {dependsOn: ['db']}),
      container('worker', {dependsOn: ['app']}),
      container('db', {dependsOn: []}),
      container('cache', {dependsOn: []}),
    ])
    expect(order.map((c) => c.service)).to.deep.equal(['db', 'app', 'cache', 'worker'])
    // A dependency cycle does not loop forever.
    const cycle = startOrder([container('a', {dependsOn: ['b']}), container('b', {dependsOn: ['a']})])
    expect(cycle.map((c) => c.service)).to.have.members(['a', 'b'])
  })

  it("reads Compose's depends_on label", () => {
    expect(parseDependsOn('db:service_healthy:true')).to.deep.equal(['db'])
    expect(parseDependsOn('db:service_healthy:true,cache:service_started:false')).to.deep.equal(['db', 'cache'])
    expect(parseDependsOn('')).to.deep.equal([])
    expect(parseDependsOn(undefined)).to.deep.equal([])
  })

  it('blames the db that exited at once, not the app that waited for it, with the real time and reason', () => {
    // The app is listed first, as the engine might: dependency order decides, not list order.
    const diagnosis = diagnoseStartup([appWaiting, dbExited], ctx)!
    expect(diagnosis.service).to.equal('db')
    expect(diagnosis.summary).to.equal("service 'db' failed to start: it exited with code 1 0.4 s after it started")
    expect(diagnosis.details[0]).to.equal('db: state exited, exit code 1, health unhealthy')
    expect(diagnosis.details.join('\n')).to.include(
      'last log lines:\nFATAL:  unrecognized configuration parameter "nonsense"',
    )
    expect(diagnosis.details).to.include('not started, waiting for it: app')
    expect(diagnosis.summary + diagnosis.details.join('\n')).to.not.match(/within 120|app' (did not|is|failed)/)
    expect(diagnosis.suggestion).to.equal(
      "check what docker-compose.override.yml changes for 'db'; fix the cause above and run stackctl up again. " +
        'The containers were left for inspection (stackctl logs db); the volume demo_postgres_data was not touched',
    )
  })

  it('names a db caught in a restart loop, in either phase of it', () => {
    const restarting = container('db', {...dbExited, state: 'restarting', restartCount: 4})
    expect(diagnoseStartup([appWaiting, restarting], ctx)!.summary).to.equal(
      "service 'db' failed to start: it exited with code 1 0.4 s after it started and is being restarted (4 restarts so far)",
    )
    const runningAgain = container('db', {health: 'starting', restartCount: 1, startedAt: secondsAgo(0.2)})
    const diagnosis = diagnoseStartup([appWaiting, runningAgain], ctx)!
    expect(diagnosis.summary).to.equal(
      "service 'db' failed to start: it keeps exiting and being restarted (1 restart so far)",
    )
    expect(diagnosis.details[0]).to.equal('db: state running, 1 restarts, health starting')
  })

  it('says when a container was killed', () => {
    const killed = container('db', {...dbExited, exitCode: 137})
    expect(diagnoseStartup([killed], ctx)!.summary).to.equal(
      "service 'db' failed to start: it was killed (SIGKILL, exit code 137) 0.4 s after it started",
    )
  })

  it('blames the app when the db is healthy, with its health output and how long it ran', () => {
    const app = container('app', {
      health: 'unhealthy',
      startedAt: secondsAgo(3.2),
      lastHealthCheck: 'db unavailable: connection refused',
    })
    const diagnosis = diagnoseStartup([container('db'), app], ctx)!
    expect(diagnosis.service).to.equal('app')
    expect(diagnosis.summary).to.equal("service 'app' is unhealthy: its health check failed 3.2 s after it started")
    expect(diagnosis.details).to.include('last health check: db unavailable: connection refused')
    expect(diagnosis.suggestion).to.not.include('override')
  })

  it('reports a health check still pending when up stopped waiting, with the wait', () => {
    const slow = container('db', {health: 'starting', startedAt: secondsAgo(121)})
    const diagnosis = diagnoseStartup([slow, appWaiting], ctx)!
    expect(diagnosis.summary).to.equal(
      "service 'db' did not become healthy: its health check had not passed 121 s after it started",
    )
    expect(diagnosis.details).to.include('up waits 120 s for health checks (--timeout)')
  })

  it('names a container the engine could not start', () => {
    const app = container('app', {state: 'created', health: 'none', error: 'port is already allocated'})
    expect(diagnoseStartup([container('db'), app], ctx)!.summary).to.equal(
      "service 'app' could not be started: port is already allocated",
    )
  })

  it('finds nothing to blame on a healthy stack, or on one without health checks (negative control)', () => {
    expect(diagnoseStartup([container('db'), container('app')], ctx)).to.equal(undefined)
    expect(diagnoseStartup([container('db', {health: 'none'}), container('app', {health: 'none'})], ctx)).to.equal(
      undefined,
    )
    // A restart long ago does not make a healthy db a suspect.
    expect(diagnoseStartup([container('db', {restartCount: 3}), container('app')], ctx)).to.equal(undefined)
  })

  it('never suggests deleting the volume', () => {
    for (const facts of [
      [appWaiting, dbExited],
      [container('db'), container('app', {health: 'unhealthy'})],
    ]) {
      const diagnosis = diagnoseStartup(facts, ctx)!
      expect(diagnosis.suggestion).to.include('was not touched')
      expect(diagnosis.suggestion).to.not.match(/--volumes|volume rm|delete|remove/i)
    }
  })

  it('formats seconds with one decimal below ten', () => {
    expect(formatSeconds(0.04)).to.equal('0.0 s')
    expect(formatSeconds(3.21)).to.equal('3.2 s')
    expect(formatSeconds(120.4)).to.equal('120 s')
    expect(formatSeconds(-1)).to.equal('0.0 s')
  })

  it('collects the facts from the engine: labels, times, exit code, health output and logs', async () => {
    const summary = (service: string, changes: Partial<ContainerSummary>): ContainerSummary => ({
      id: `id-${service}`,
      name: `demo-${service}-1`,
      project: 'demo',
      service,
      state: 'running',
      health: 'none',
      labels: {},
      image: 'img',
      imageId: 'sha256:img',
      ports: [],
      ...changes,
    })
    const details: Record<string, Partial<ContainerDetails>> = {
      'id-db': {
        exitCode: 1,
        startedAtMs: Date.parse('2026-11-25T09:59:57.000Z'),
        finishedAtMs: Date.parse('2026-11-25T09:59:57.400Z'),
        error: '',
        health: {status: 'unhealthy', lastOutput: undefined},
        restartCount: 2,
      },
      'id-app': {exitCode: 0, startedAtMs: undefined, finishedAtMs: undefined, error: '', restartCount: 0},
    }
    const asked: string[] = []
    const stub = {
      list: async (filter: {project?: string}) => {
        asked.push(`list ${filter.project}`)
        return [
          summary('app', {
            state: 'created',
            labels: {
              'com.docker.compose.depends_on': 'db:service_healthy:true',
              'com.docker.compose.project.config_files': '/s/docker-compose.yml,/s/docker-compose.override.yml',
            },
          }),
          summary('db', {state: 'restarting'}),
          summary('gone', {}),
        ]
      },
      inspect: async (id: string) => (details[id] ? ({id, ...details[id]} as ContainerDetails) : undefined),
      logTail: async (id: string, lines: number) => `${id}: last ${lines} lines\n`,
    } as unknown as ContainerClient

    const facts = await collectFacts(stub, 'demo')
    expect(asked).to.deep.equal(['list demo'])
    expect(facts.map((f) => f.service)).to.deep.equal(['app', 'db']) // 'gone' vanished between list and inspect
    expect(facts[0]).to.deep.include({
      state: 'created',
      dependsOn: ['db'],
      composeFiles: ['/s/docker-compose.yml', '/s/docker-compose.override.yml'],
      startedAt: undefined,
      error: undefined,
    })
    expect(facts[1]).to.deep.include({state: 'restarting', health: 'unhealthy', exitCode: 1, restartCount: 2})
    expect(facts[1].logTail).to.equal('id-db: last 20 lines\n')
    expect(diagnoseStartup(facts, ctx)!.summary).to.equal(
      "service 'db' failed to start: it exited with code 1 0.4 s after it started and is being restarted (2 restarts so far)",
    )
  })
})
