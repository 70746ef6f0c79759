import {expect} from 'chai'

import {Interrupted} from '../../../../src/lib/errors.js'
import {assessTasks, TasksNotReady, waitForTasks} from '../../../../src/lib/targets/swarm/tasks.js'
import {StubSwarm, stubTask} from '../../../support/stub-swarm.js'

const nodes = new Map([
  ['n1', 'node1'],
  ['n2', 'node2'],
])

/** A fake clock: sleeping advances it, so timeouts are reached without waiting. */
function clock() {
  let t = 1_000_000
  return {now: () => t, sleep: async (ms: number) => void (t += ms)}
}

describe('swarm task assessment', () => {
  it('is done when every service has its replicas running', () => {
    const tasks = [
      stubTask({serviceName: 's_db', state: 'running'}),
      stubTask({serviceName: 's_app', state: 'running', slot: 1}),
      stubTask({serviceName: 's_app', state: 'running', slot: 2, nodeId: 'n2'}),
    ]
    expect(assessTasks({s_db: 1, s_app: 2}, tasks, 0, nodes)).to.deep.equal({done: true, waiting: []})
  })

  it('waits for starting (not yet healthy) tasks and names them with their node', () => {
    const tasks = [
      stubTask({serviceName: 's_db', state: 'running'}),
      stubTask({serviceName: 's_app', state: 'starting', slot: 2, nodeId: 'n2'}),
    ]
    const result = assessTasks({s_db: 1, s_app: 2}, tasks, 0, nodes)
    expect(result.done).to.equal(false)
    expect(result.waiting).to.deep.equal(['s_app 0/2: s_app.2 on node2: starting'])
  })

  it('ignores tasks that are being shut down and failures from before the deploy', () => {
    const tasks = [
      stubTask({serviceName: 's_db', state: 'running'}),
      stubTask({serviceName: 's_db', state: 'failed', desiredState: 'shutdown', updatedAtMs: 5}),
      stubTask({serviceName: 's_db', state: 'failed', desiredState: 'shutdown', updatedAtMs: 6}),
      stubTask({serviceName: 's_db', state: 'failed', desiredState: 'shutdown', updatedAtMs: 7}),
    ]
    expect(assessTasks({s_db: 1}, tasks, 100, nodes).done).to.equal(true)
  })

  it('gives up on a service whose tasks keep failing, naming the latest task, node and error', () => {
    const failed = (at: number) =>
      stubTask({
        serviceName: 's_app',
        state: 'failed',
        desiredState: 'shutdown',
        updatedAtMs: at,
        nodeId: 'n2',
        error: `exit ${at}`,
      })
    const result = assessTasks({s_app: 1}, [failed(101), failed(103), failed(102)], 100, nodes)
    expect(result.failure).to.equal(
      's_app: 3 tasks failed since the deploy; latest s_app.1 on node2: failed (exit 103)',
    )
  })
})

describe('waiting for swarm tasks', () => {
  it('returns once the tasks run, reporting each change of what it waits for once', async () => {
    const swarm = new StubSwarm().addNode('node1', {id: 'n1'})
    swarm.taskPolls = [
      [],
      [stubTask({serviceName: 's_db', state: 'starting'})],
      [stubTask({serviceName: 's_db', state: 'starting'})],
      [stubTask({serviceName: 's_db', state: 'running'})],
    ]
    const lines: string[] = []
    await waitForTasks(swarm, 's', {db: 1}, {timeoutMs: 60_000, progress: (l) => lines.push(l), ...clock()})
    expect(swarm.polls).to.equal(4)
    expect(lines).to.deep.equal(['waiting: s_db 0/1', 'waiting: s_db 0/1: s_db.1 on node1: starting'])
  })

  it('fails after the timeout naming the tasks that are not running', async () => {
    const swarm = new StubSwarm().addNode('node2', {id: 'n2'})
    swarm.taskPolls = [[stubTask({serviceName: 's_app', state: 'pending', nodeId: '', message: 'no suitable node'})]]
    const wait = waitForTasks(swarm, 's', {app: 1}, {timeoutMs: 10_000, ...clock()})
    const error = await wait.then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).to.be.instanceOf(TasksNotReady)
    expect((error as Error).message).to.equal(
      'not every task was running and healthy after 10 s: s_app 0/1: s_app.- on no node: pending (no suitable node)'.replace(
        's_app.-',
        's_app.1',
      ),
    )
    expect((error as TasksNotReady).exitCode).to.equal(1)
  })

  it('stops at once when interrupted', async () => {
    const swarm = new StubSwarm()
    const controller = new AbortController()
    controller.abort()
    const error = await waitForTasks(
      swarm,
      's',
      {db: 1},
      {timeoutMs: 10_000, signal: controller.signal, ...clock()},
    ).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).to.be.instanceOf(Interrupted)
    expect(swarm.polls).to.equal(0)
  })
})
