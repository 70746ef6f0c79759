import {expect} from 'chai'

import {UsageError} from '../../../../src/lib/errors.js'
import {
  localSwarmSpec,
  managerEndpoint,
  networkCreateArgs,
  nodeAddress,
  nodeRunArgs,
  SWARM_LABELS,
} from '../../../../src/lib/targets/swarm/local-spec.js'

const spec = localSwarmSpec({name: 'demo', nodes: 3, port: 5050}, '/state', 'stackctl/swarm-node:20.10')

describe('local swarm spec', () => {
  it('names everything after the swarm and keeps node 1’s socket in the state directory', () => {
    expect(spec).to.deep.include({name: 'demo', nodes: 3, port: 5050, runDir: '/state/swarms/demo'})
    expect(managerEndpoint(spec)).to.equal('unix:///state/swarms/demo/node1/docker.sock')
    expect(managerEndpoint(spec, 3)).to.equal('unix:///state/swarms/demo/node3/docker.sock')
    expect(networkCreateArgs(spec)).to.deep.equal([
      'network',
      'create',
      '--label',
      'io.stackctl.swarm=demo',
      'demo-net',
    ])
  })

  it('starts node 1 as the manager: app port on loopback, a second API socket on the host', () => {
    const args = nodeRunArgs(spec, 1)
    expect(args).to.include.members(['--name', 'demo-node1', '--hostname', 'demo-node1', '--network', 'demo-net'])
    expect(args.join(' ')).to.include('--publish 127.0.0.1:5050:5050')
    expect(args.join(' ')).to.include('--volume /state/swarms/demo/node1:/stackctl-run')
    expect(args.join(' ')).to.include(`--label ${SWARM_LABELS.socket}=/state/swarms/demo/node1/docker.sock`)
    expect(args.slice(-5)).to.deep.equal([
      'stackctl/swarm-node:20.10',
      '-H',
      'unix:///var/run/docker.sock',
      '-H',
      'unix:///stackctl-run/docker.sock',
    ])
  })

  it('never runs a node --privileged: every capability but SYS_RESOURCE, unconfined, on its own volume', () => {
    const args = nodeRunArgs(spec, 2)
    expect(args).not.to.include('--privileged')
    expect(args.join(' ')).to.include('--cap-add ALL --cap-drop SYS_RESOURCE')
    expect(args.join(' ')).to.include('--volume demo-node2-data:/var/lib/docker')
    expect(args.join(' ')).not.to.include('--publish')
    expect(args.slice(-2)).to.deep.equal(['-H', 'unix:///stackctl-run/docker.sock'])
    expect(args.at(-5)).to.equal('stackctl/swarm-node:20.10')
  })

  it('gives every node a fixed address on the subnet Docker handed out, so a restart in any order keeps them', () => {
    expect(networkCreateArgs(spec, '172.22.0.0/16').slice(-3)).to.deep.equal(['--subnet', '172.22.0.0/16', 'demo-net'])
    expect(nodeAddress('172.22.0.0/16', 1)).to.equal('172.22.0.11')
    expect(nodeAddress('192.168.16.0/20', 3)).to.equal('192.168.16.13')
    // A subnet written with host bits set still yields addresses inside it.
    expect(nodeAddress('10.1.2.77/24', 9)).to.equal('10.1.2.19')
    expect(nodeRunArgs(spec, 2, '172.22.0.12').join(' ')).to.include('--network demo-net --ip 172.22.0.12')
    expect(nodeRunArgs(spec, 2).join(' ')).not.to.include('--ip')
  })

  it('refuses a subnet that is not IPv4 or too small for the nodes’ addresses', () => {
    for (const bad of ['fd00::/64', '172.22.0.0/28', '300.1.1.0/24', '172.22.0.0']) {
      expect(() => nodeAddress(bad, 1), bad).to.throw(/not an IPv4 subnet/)
    }
  })

  it('refuses bad names and node counts in one line (exit 2)', () => {
    expect(() => localSwarmSpec({name: 'Bad_Name'}, '/s', 'i')).to.throw(UsageError, /invalid swarm name 'Bad_Name'/)
    expect(() => localSwarmSpec({nodes: 0}, '/s', 'i')).to.throw(UsageError, /invalid node count '0'/)
  })
})
