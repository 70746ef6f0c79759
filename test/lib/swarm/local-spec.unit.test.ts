import {expect} from 'chai'

import {UsageError} from '../../../src/lib/errors.js'
import {
  localSwarmSpec,
  managerEndpoint,
  networkCreateArgs,
  nodeRunArgs,
  SWARM_LABELS,
} from '../../../src/lib/swarm/local-spec.js'

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

  it('refuses bad names and node counts in one line (exit 2)', () => {
    expect(() => localSwarmSpec({name: 'Bad_Name'}, '/s', 'i')).to.throw(UsageError, /invalid swarm name 'Bad_Name'/)
    expect(() => localSwarmSpec({nodes: 0}, '/s', 'i')).to.throw(UsageError, /invalid node count '0'/)
  })
})
