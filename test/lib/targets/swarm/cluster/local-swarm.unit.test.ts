import {expect} from 'chai'

import {
  existingSwarmAction,
  firstIPv4Subnet,
  restartOrder,
  stackDataIn,
  swarmDownRefusal,
} from '../../../../../src/lib/targets/swarm/cluster/local-swarm.js'
import {EnvironmentError, UsageError} from '../../../../../src/lib/errors.js'
import {SWARM_LABELS} from '../../../../../src/lib/targets/swarm/local-spec.js'
import {StubDockerCli} from '../../../../support/stub-swarm-context.js'

const node = (index: number, state: string) => ({
  name: `t-node${index}`,
  state,
  labels: {[SWARM_LABELS.swarm]: 't', [SWARM_LABELS.node]: String(index)},
})

const ready = (up: boolean, readyNodes = 3) => ({
  up,
  port: 8080,
  nodes: [1, 2, 3].map((i) => ({state: i <= readyNodes ? 'ready' : 'down'})) as never,
})

describe('local swarm: what swarm up does with an existing swarm', () => {
  const running = [node(1, 'running'), node(2, 'running'), node(3, 'running')]

  it('does nothing to a swarm that is up, and starts the nodes of one that is stopped', () => {
    expect(existingSwarmAction('t', {}, running, ready(true))).to.equal('up')
    expect(existingSwarmAction('t', {nodes: 3, port: 8080}, running, ready(true))).to.equal('up')
    const stopped = [node(1, 'exited'), node(2, 'exited'), node(3, 'running')]
    expect(existingSwarmAction('t', {}, stopped, ready(false, 1))).to.equal('restart')
  })

  it('refuses a --nodes or --port that contradicts the swarm, in one line with a hint (exit 2)', () => {
    expect(() => existingSwarmAction('t', {nodes: 5}, running, ready(true))).to.throw(
      UsageError,
      "swarm 't' has 3 nodes; --nodes 5 cannot change that",
    )
    const port = (() => {
      try {
        existingSwarmAction('t', {port: 9090}, running, ready(true))
      } catch (error) {
        return error as UsageError
      }
    })()
    expect(port).to.be.instanceOf(UsageError)
    expect(port?.message).to.equal("swarm 't' forwards port 8080; --port 9090 cannot change that")
    expect(port?.suggestion).to.equal(
      'run stackctl swarm up --name t without --port, or choose another --name for a new swarm',
    )
    expect(port?.exitCode).to.equal(2)
  })

  it('refuses to act on a swarm running but not fully up (nothing stopped to start)', () => {
    expect(() => existingSwarmAction('t', {}, running, ready(false, 2))).to.throw(
      EnvironmentError,
      "swarm 't' is running but not fully up (2 of 3 nodes ready)",
    )
  })

  it('starts stopped nodes in their order, node 1 (the manager) first, whatever order the engine lists them in', () => {
    const listed = [node(3, 'exited'), node(1, 'exited'), node(2, 'running')]
    const order = restartOrder(listed)
    expect(order.stopped.map((c) => c.name)).to.deep.equal(['t-node1', 't-node3'])
    expect(order.byIndex.map((c) => c.name)).to.deep.equal(['t-node1', 't-node2', 't-node3'])
  })

  it('picks the IPv4 subnet Docker handed out, skipping an IPv6 one; none when there is none', () => {
    expect(firstIPv4Subnet('fd00:1::/64 172.20.0.0/16 \n')).to.equal('172.20.0.0/16')
    expect(firstIPv4Subnet('fd00:1::/64 \n')).to.equal(undefined)
    expect(firstIPv4Subnet('')).to.equal(undefined)
  })
})

describe('local swarm: what swarm down refuses', () => {
  it('refuses (exit 2) while stack data is in the nodes, naming it; nothing to ask of an empty swarm', () => {
    const refusal = swarmDownRefusal('t', {dataVolumes: ['demo_postgres_data on t-node2'], unreadable: []})
    expect(refusal?.error.message).to.equal(
      "swarm 't' holds stackctl data (demo_postgres_data on t-node2); nothing was removed",
    )
    expect(refusal?.error.exitCode).to.equal(2)
    expect(refusal?.question).to.match(/removing the swarm deletes everything in its nodes/)
    expect(swarmDownRefusal('t', {dataVolumes: [], unreadable: []})).to.equal(undefined)
  })

  it('treats stopped nodes as holding data, and says swarm up starts them again', () => {
    const refusal = swarmDownRefusal('t', {dataVolumes: [], unreadable: ['t-node1', 't-node2']})
    expect(refusal?.error.message).to.equal(
      "swarm 't' has nodes whose volumes cannot be read (t-node1, t-node2); nothing was removed",
    )
    expect(refusal?.error.suggestion).to.equal(
      'stackctl swarm up --name t starts its stopped nodes again, with their data',
    )
  })

  it('asks each running node for stack volumes; a stopped or silent node is unreadable, never empty', async () => {
    const cli = new StubDockerCli('unix:///var/run/docker.sock').answer((args) => {
      if (args[1] === 't-node2') return {stdout: 'demo_postgres_data\n'}
      if (args[1] === 't-node3') return {exitCode: 1, stderr: 'Cannot connect to the Docker daemon'}
      return undefined
    })
    const found = await stackDataIn(cli, [
      {name: 't-node1', state: 'running'},
      {name: 't-node2', state: 'running'},
      {name: 't-node3', state: 'running'},
      {name: 't-node4', state: 'exited'},
    ])
    expect(found).to.deep.equal({dataVolumes: ['demo_postgres_data on t-node2'], unreadable: ['t-node3', 't-node4']})
    // A stopped node is not asked at all (its engine is not there to answer).
    expect(cli.calls.filter((c) => c.includes('t-node4'))).to.deep.equal([])
    expect(cli.calls[0]).to.equal('exec t-node1 docker volume ls --quiet --filter label=io.stackctl.stack-id')
  })
})
