/** planUp: the plan of `up` from one snapshot of the project and what the rendered file wants. */
import {expect} from 'chai'

import type {ContainerSummary, ProjectSnapshot} from '../../../src/lib/engine/engine.js'
import {mutatingSteps} from '../../../src/lib/plan/steps.js'
import {needsComparison, planUp, type DesiredUp} from '../../../src/lib/plan/up.js'

function container(service: string, changes: Partial<ContainerSummary> = {}): ContainerSummary {
  return {
    id: `id-${service}`,
    name: `demo-${service}-1`,
    project: 'demo',
    service,
    state: 'running',
    health: 'healthy',
    labels: {'com.docker.compose.config-hash': `hash-${service}`},
    image: `img/${service}`,
    imageId: `sha256:${service}`,
    ports: [],
    ...changes,
  }
}

function snapshot(...containers: ContainerSummary[]): ProjectSnapshot {
  return {project: 'demo', containers, volumes: [], networks: containers.length > 0 ? ['demo_default'] : []}
}

const services = ['db', 'app']
const desired: DesiredUp = {
  services,
  expected: new Map([
    ['db', {configHash: 'hash-db', imageId: 'sha256:db'}],
    ['app', {configHash: 'hash-app', imageId: 'sha256:app'}],
  ]),
}

describe('planUp', () => {
  it('a fresh stack: creates both services (Compose is not asked for hashes first)', () => {
    const fresh = snapshot()
    expect(needsComparison(fresh, services)).to.equal(false)
    expect(planUp(fresh, {services, expected: 'not-compared'})).to.deep.equal([
      {kind: 'create', service: 'db', cause: 'no container'},
      {kind: 'create', service: 'app', cause: 'no container'},
    ])
  })

  it('a running, unchanged stack: plans nothing, so nothing mutating', () => {
    const running = snapshot(container('db'), container('app'))
    expect(needsComparison(running, services)).to.equal(true)
    expect(planUp(running, desired)).to.deep.equal([])
    // A container without a health check counts as ready.
    expect(planUp(snapshot(container('db'), container('app', {health: 'none'})), desired)).to.deep.equal([])
  })

  it('a changed compose file: recreates the service whose hash changed, and says why', () => {
    const changed = snapshot(container('db'), container('app', {labels: {'com.docker.compose.config-hash': 'old'}}))
    expect(planUp(changed, desired)).to.deep.equal([{kind: 'recreate', service: 'app', cause: 'compose file changed'}])
    const rebuilt = snapshot(container('db'), container('app', {imageId: 'sha256:older'}))
    expect(planUp(rebuilt, desired)).to.deep.equal([
      {kind: 'recreate', service: 'app', cause: 'image changed under the same tag'},
    ])
  })

  it('a stopped db: starts it (and the snapshot alone decides: no hashes asked)', () => {
    const stopped = snapshot(container('db', {state: 'exited', health: 'none'}), container('app'))
    expect(needsComparison(stopped, services)).to.equal(false)
    const plan = planUp(stopped, {services, expected: 'not-compared'})
    expect(plan).to.deep.equal([{kind: 'start', service: 'db', cause: 'stopped'}])
    expect(mutatingSteps(plan)).to.have.length(1)
  })

  it('a starting service is waited for (not a mutating step); --build and override files always go to Compose', () => {
    const starting = snapshot(container('db'), container('app', {health: 'starting'}))
    const plan = planUp(starting, {services, expected: 'not-compared'})
    expect(plan).to.deep.equal([{kind: 'wait-healthy', service: 'app', cause: 'starting'}])
    expect(mutatingSteps(plan)).to.deep.equal([])
    const running = snapshot(container('db'), container('app'))
    expect(planUp(running, {...desired, build: true}).map((s) => s.kind)).to.deep.equal(['build-image'])
    expect(planUp(running, {...desired, overrideFiles: 1}).map((s) => s.kind)).to.deep.equal(['converge'])
  })

  it('leaves it to Compose on an extra, duplicated or hand-made container, or hashes it could not give', () => {
    const extra = snapshot(container('db'), container('app'), container('old'))
    expect(planUp(extra, desired)).to.deep.equal([{kind: 'converge', service: 'old', cause: 'not in the compose file'}])
    const twice = snapshot(container('db'), container('app'), container('app', {id: 'id-app-2'}))
    expect(planUp(twice, desired)).to.deep.equal([{kind: 'converge', service: 'app', cause: '2 containers'}])
    const byHand = snapshot(container('db', {labels: {}}), container('app'))
    expect(planUp(byHand, desired)[0]).to.include({kind: 'recreate', service: 'db'})
    expect(planUp(snapshot(container('db'), container('app')), {services, expected: 'unknown'})).to.deep.equal([
      {kind: 'converge', cause: 'Compose could not hash the rendered file'},
    ])
  })
})
