/** planRestore: a restore goes into the running db beside the live data; it never stops the stack. */
import {expect} from 'chai'

import type {ContainerSummary, ProjectSnapshot} from '../../../src/lib/engine/engine.js'
import {planRestore} from '../../../src/lib/plan/restore.js'
import {mutatingSteps} from '../../../src/lib/plan/steps.js'

function container(service: string, state = 'running'): ContainerSummary {
  return {
    id: `id-${service}`,
    name: `demo-${service}-1`,
    project: 'demo',
    service,
    state,
    health: state === 'running' ? 'healthy' : 'none',
    labels: {},
    image: `img/${service}`,
    imageId: `sha256:${service}`,
    ports: [],
  }
}

const snapshot = (...containers: ContainerSummary[]): ProjectSnapshot => ({
  project: 'demo',
  containers,
  volumes: [],
  networks: [],
})

describe('planRestore', () => {
  it('a restore into a running stack: checks, loads beside the live data, proves it, swaps; stops nothing', () => {
    const plan = planRestore(snapshot(container('db'), container('app')), {file: 'b.dump'})
    expect(plan.dbId).to.equal('id-db')
    expect(plan.blocked).to.equal(undefined)
    expect(plan.steps.map((s) => [s.kind, s.service])).to.deep.equal([
      ['check', 'backup'],
      ['check', 'confirm'],
      ['restore-data', 'db'],
      ['check', 'restored data'],
      ['restore-data', 'db'],
    ])
    // The data is proved right before the switch: the check comes before the swap, and nothing is stopped.
    expect(plan.steps.findIndex((s) => s.cause.includes('proved'))).to.be.lessThan(
      plan.steps.findIndex((s) => s.cause.includes('swaps')),
    )
    expect(plan.steps.map((s) => s.kind)).to.not.include.members(['stop', 'recreate', 'create'])
    expect(mutatingSteps(plan.steps)).to.have.length(2)
  })

  it('--force skips the confirmation only', () => {
    const plan = planRestore(snapshot(container('db'), container('app')), {file: 'b.dump', force: true})
    expect(plan.steps.map((s) => s.service)).to.not.include('confirm')
    expect(plan.steps).to.have.length(4)
  })

  it('is blocked, with no step at all, when the db is stopped or absent', () => {
    expect(
      planRestore(snapshot(container('db', 'exited'), container('app', 'exited')), {file: 'b.dump'}),
    ).to.deep.equal({
      dbId: undefined,
      blocked: 'its db is exited',
      steps: [],
    })
    expect(planRestore(snapshot(), {file: 'b.dump'})).to.deep.include({blocked: 'the stack has no db container'})
  })

  it('a stopped app is left as it is (said, not started)', () => {
    const plan = planRestore(snapshot(container('db'), container('app', 'exited')), {file: 'b.dump', force: true})
    expect(plan.steps.at(-1)).to.deep.equal({kind: 'check', service: 'app', cause: 'exited: left as it is'})
  })
})
