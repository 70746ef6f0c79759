/** planDeploy over a 3-node swarm (the stub swarm's nodes): the db's node, the images, the deploy and its wait. */
import {expect} from 'chai'

import {UsageError} from '../../../src/lib/errors.js'
import {planDeploy, type SwarmObservation} from '../../../src/lib/plan/deploy.js'
import {dbNodeLabel} from '../../../src/lib/targets/swarm/db-node.js'
import {StubSwarm} from '../../support/stub-swarm.js'

function threeNodes(pinned?: string): StubSwarm {
  const swarm = new StubSwarm().addNode('node-1', {role: 'manager'}).addNode('node-2').addNode('node-3')
  for (const node of swarm.nodeList) if (node.hostname === pinned) node.labels[dbNodeLabel('demo')] = 'true'
  return swarm
}

function observed(swarm: StubSwarm, changes: Partial<SwarmObservation> = {}): SwarmObservation {
  return {
    nodes: swarm.nodeList,
    managerId: 'id-node-1',
    holders: [],
    appImagePresent: false,
    deployedBefore: false,
    ...changes,
  }
}

const desired = {project: 'demo', appImage: 'stackctl-app:abc', postgresImage: 'stackctl/postgres:17', replicas: 3}

describe('planDeploy (3-node swarm)', () => {
  it('a first deploy: builds the API image, loads it onto every node and postgres onto the db node, pins, deploys, waits', () => {
    const plan = planDeploy(observed(threeNodes()), desired)
    expect(plan.db).to.deep.include({action: 'pinned'})
    expect(plan.db.node.hostname).to.equal('node-1')
    expect(plan.steps).to.deep.equal([
      {kind: 'build-image', service: 'stackctl-app:abc', cause: 'not built yet'},
      {kind: 'distribute-images', service: 'stackctl/postgres:17', cause: 'load onto node-1 (the db node)'},
      {
        kind: 'distribute-images',
        service: 'stackctl-app:abc',
        cause: 'load onto node-1, node-2, node-3 (any node runs the API)',
      },
      {kind: 'pin-db-node', service: 'node-1', cause: 'db node: node-1 (the manager; pass --db-node to choose)'},
      {kind: 'deploy', service: 'demo', cause: 'not deployed yet (3 API replicas)'},
      {kind: 'wait-tasks', service: 'demo', cause: 'every task running and healthy'},
    ])
  })

  it('a redeploy: keeps the pin where the data is (no pin step), no build when the image is there', () => {
    const plan = planDeploy(
      observed(threeNodes('node-2'), {appImagePresent: true, deployedBefore: true, holders: ['node-2']}),
      desired,
    )
    expect(plan.db).to.deep.include({action: 'kept'})
    expect(plan.db.node.hostname).to.equal('node-2')
    const kinds = plan.steps.map((s) => s.kind)
    expect(kinds).to.not.include('pin-db-node')
    expect(kinds).to.not.include('build-image')
    expect(plan.steps.find((s) => s.kind === 'deploy')?.cause).to.match(/converges/)
  })

  it('pins the db where its data volume already is, and refuses a --db-node elsewhere', () => {
    const plan = planDeploy(observed(threeNodes(), {holders: ['node-3']}), desired)
    expect(plan.steps.find((s) => s.kind === 'pin-db-node')).to.deep.include({service: 'node-3'})
    expect(() => planDeploy(observed(threeNodes(), {holders: ['node-3']}), {...desired, dbNode: 'node-2'})).to.throw(
      UsageError,
      /data volume of 'demo' is on node-3/,
    )
  })

  it('with --registry, pushes once instead of loading onto nodes', () => {
    const plan = planDeploy(observed(threeNodes()), {...desired, registry: 'reg:5000'})
    const distribute = plan.steps.filter((s) => s.kind === 'distribute-images')
    expect(distribute).to.have.length(1)
    expect(distribute[0]).to.deep.include({service: 'reg:5000'})
  })
})
