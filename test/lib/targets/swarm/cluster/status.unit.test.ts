import {expect} from 'chai'

import {describeSwarmStatus, swarmStackStatus} from '../../../../../src/lib/targets/swarm/cluster/status.js'
import {EnvironmentError} from '../../../../../src/lib/errors.js'
import {dbNodeLabel} from '../../../../../src/lib/targets/swarm/db-node.js'
import {stubSwarmContext} from '../../../../support/stub-swarm-context.js'
import {stubTask} from '../../../../support/stub-swarm.js'

/** A deployed `demo`: db pinned on node 2, `app` replicas wanted, the tasks given. */
async function deployed(appReplicas: number, tasks: Parameters<typeof stubTask>[0][], local = true) {
  const stub = await stubSwarmContext({local})
  stub.swarm.nodeList[1].labels[dbNodeLabel('demo')] = 'true'
  stub.swarm.serviceList = [
    {id: 's1', name: 'demo_db', replicas: 1, labels: {}},
    {id: 's2', name: 'demo_app', replicas: appReplicas, labels: {}},
  ]
  stub.swarm.taskPolls = [tasks.map((t) => stubTask(t))]
  return stub
}

const running = (serviceName: string, slot: number, nodeId: string) =>
  ({serviceName, state: 'running', slot, nodeId}) as const

describe('swarm stack status: judging tasks and replicas', () => {
  it('is healthy when every service has its replicas running, naming each task’s node', async () => {
    const {sw} = await deployed(3, [
      running('demo_db', 1, 'n2'),
      running('demo_app', 1, 'n1'),
      running('demo_app', 2, 'n2'),
      running('demo_app', 3, 'n3'),
    ])
    const status = await swarmStackStatus(sw)
    expect(status).to.include({healthy: true, deployed: true, dbNode: 't-node2', url: 'http://127.0.0.1:8080'})
    expect(status.replicas).to.deep.equal({db: '1/1', app: '3/3'})
    expect(status.tasks.map((t) => `${t.service}.${t.slot} ${t.node} ${t.health}`)).to.deep.equal([
      'db.1 t-node2 healthy',
      'app.1 t-node1 healthy',
      'app.2 t-node2 healthy',
      'app.3 t-node3 healthy',
    ])
  })

  it('is not healthy while a replica is starting (its health check not passed) — the control', async () => {
    const {sw} = await deployed(3, [
      running('demo_db', 1, 'n2'),
      running('demo_app', 1, 'n1'),
      running('demo_app', 2, 'n2'),
      {serviceName: 'demo_app', state: 'starting', slot: 3, nodeId: 'n3', message: 'starting'},
    ])
    const status = await swarmStackStatus(sw)
    expect(status.healthy).to.equal(false)
    expect(status.replicas).to.deep.equal({db: '1/1', app: '2/3'})
    expect(status.tasks.find((t) => t.slot === 3)).to.include({
      state: 'starting',
      health: 'starting',
      error: 'starting',
    })
  })

  it('counts only tasks meant to run: a shut-down task does not make up a missing replica', async () => {
    const {sw} = await deployed(2, [
      running('demo_db', 1, 'n2'),
      running('demo_app', 1, 'n1'),
      {serviceName: 'demo_app', state: 'running', slot: 2, nodeId: 'n3', desiredState: 'shutdown'},
    ])
    const status = await swarmStackStatus(sw)
    expect(status.replicas.app).to.equal('1/2')
    expect(status.healthy).to.equal(false)
    expect(status.tasks).to.have.length(2)
  })

  it('is not healthy without a db task, even with every API replica up', async () => {
    const {sw} = await deployed(1, [running('demo_app', 1, 'n1')])
    const status = await swarmStackStatus(sw)
    expect(status).to.include({healthy: false, deployed: true})
    expect(status.replicas).to.deep.equal({db: '0/1', app: '1/1'})
  })

  it('says not deployed (and not healthy) when the stack has no services', async () => {
    const {sw} = await stubSwarmContext()
    const status = await swarmStackStatus(sw)
    expect(status).to.include({deployed: false, healthy: false, dbNode: ''})
    expect(describeSwarmStatus(status)).to.deep.equal([`stack 'demo' is not deployed on ${sw.target.endpoint}`])
  })

  it('gives a remote swarm’s URL as its manager’s address and the stack’s port', async () => {
    const {sw} = await deployed(1, [running('demo_db', 1, 'n2'), running('demo_app', 1, 'n1')], false)
    expect((await swarmStackStatus(sw)).url).to.equal('http://10.1.0.11:8080')
  })

  it('refuses an engine that is a worker, or no swarm at all, naming it', async () => {
    const {sw, swarm} = await stubSwarmContext()
    swarm.manager = false
    const error = await swarmStackStatus(sw).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).to.be.instanceOf(EnvironmentError)
    expect((error as Error).message).to.equal(`${sw.target.endpoint} is a swarm worker, not a manager`)
    swarm.active = false
    await swarmStackStatus(sw).then(
      () => expect.fail('a node outside any swarm was accepted'),
      (e: Error) => expect(e.message).to.equal(`${sw.target.endpoint} is not part of a swarm`),
    )
  })
})
