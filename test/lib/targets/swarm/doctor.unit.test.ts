import {expect} from 'chai'

import type {SwarmNode} from '../../../../src/lib/engine/engine.js'
import {nodesCheck, tasksCheck} from '../../../../src/lib/targets/swarm/doctor.js'

function node(hostname: string, change: Partial<SwarmNode> = {}): SwarmNode {
  return {
    id: hostname,
    hostname,
    role: 'worker',
    availability: 'active',
    state: 'ready',
    addr: '',
    labels: {},
    ...change,
  }
}

const nodeFixes = {
  down: 'stackctl swarm up --name demo',
  activate: (n: string) => `docker node update --availability active ${n}`,
}

describe('nodesCheck (doctor --target swarm)', () => {
  it('is ok with every node ready and active', () => {
    const check = nodesCheck([node('demo-node1'), node('demo-node2')], nodeFixes)
    expect(check).to.deep.equal({name: 'nodes', status: 'ok', detail: '2 ready: demo-node1, demo-node2'})
  })

  it('fails naming a node that is down, with the fix that starts it', () => {
    const check = nodesCheck([node('demo-node1'), node('demo-node2', {state: 'down'})], nodeFixes)
    expect(check.status).to.equal('fail')
    expect(check.detail).to.equal('demo-node2 is down (1 of 2 ready)')
    expect(check.fix).to.equal('stackctl swarm up --name demo')
  })

  it("fails naming a node cut from the others by stackctl's partition rules, with the fix that heals it", () => {
    const fixes = {...nodeFixes, heal: 'stackctl swarm up --name demo'}
    const nodes = [node('demo-node1'), node('demo-node2', {state: 'down'}), node('demo-node3')]
    const check = nodesCheck(nodes, fixes, [{node: 'demo-node2', peers: ['172.20.0.11', '172.20.0.13']}])
    expect(check.status).to.equal('fail')
    expect(check.detail).to.equal(
      "demo-node2 cannot reach the other nodes (stackctl's partition rules drop its traffic to and from 172.20.0.11, 172.20.0.13: left by an interrupted verify-persistence --mode partition); demo-node2 is down",
    )
    expect(check.fix).to.equal('stackctl swarm up --name demo')
    // Negative control: the same nodes without the rules read as a node down, not a partition.
    expect(nodesCheck(nodes, fixes, []).detail).to.equal('demo-node2 is down (2 of 3 ready)')
  })

  it('warns for a drained node, with the command that makes it active again', () => {
    const check = nodesCheck([node('demo-node1'), node('demo-node2', {availability: 'drain'})], nodeFixes)
    expect(check.status).to.equal('warn')
    expect(check.fix).to.equal('docker node update --availability active demo-node2')
  })
})

describe('tasksCheck (doctor --target swarm)', () => {
  const fixes = {tasks: 'docker stack ps --no-trunc demo'}

  it('is ok when every service runs the tasks it must', () => {
    const check = tasksCheck(
      {deployed: true, expected: {etcd1: 1, pg1: 1, app: 2}, running: {etcd1: 1, pg1: 1, app: 2}},
      fixes,
    )
    expect(check.status).to.equal('ok')
    expect(check.detail).to.equal('every task runs: etcd1 1/1, pg1 1/1, app 2/2')
  })

  it('fails naming each service short of its tasks (a member scaled to 0 counts as expected 1)', () => {
    const check = tasksCheck({deployed: true, expected: {etcd3: 1, pg1: 1, app: 2}, running: {pg1: 1, app: 1}}, fixes)
    expect(check.status).to.equal('fail')
    expect(check.detail).to.equal('not running: etcd3 0/1, app 1/2')
    expect(check.fix).to.equal(fixes.tasks)
  })

  it('is ok when the stack is not deployed (as a Compose stack never started)', () => {
    expect(tasksCheck({deployed: false, expected: {}, running: {}}, fixes)).to.deep.equal({
      name: 'stack',
      status: 'ok',
      detail: 'not deployed',
    })
  })
})
