import {expect} from 'chai'

import type {ContainerSummary} from '../../../../src/lib/engine/engine.js'
import {teardownProblems, type TeardownEvidence} from '../../../../src/lib/operations/verify/teardown.js'

function container(id: string, service: string, state = 'running'): ContainerSummary {
  const name = `demo-${service}-1`
  return {id, name, project: 'demo', service, state, health: 'healthy', labels: {}, image: 'x', imageId: 'x', ports: []}
}

const OLD = [container('app1', 'app'), container('db1', 'db')]
const CREATED = '2025-01-01T10:00:00Z'

function evidence(overrides: Partial<TeardownEvidence>): TeardownEvidence {
  return {
    mode: 'down',
    volume: 'demo_postgres_data',
    old: OLD,
    oldRemaining: [],
    current: [],
    networks: [],
    volumeCreatedBefore: CREATED,
    volumeCreatedAfter: CREATED,
    volumeDestroyEvents: 0,
    ...overrides,
  }
}

describe('teardown proof', () => {
  it('accepts down and kill: old containers gone, nothing of the project left, the same volume', () => {
    expect(teardownProblems(evidence({}))).to.deep.equal([])
    expect(teardownProblems(evidence({mode: 'kill'}))).to.deep.equal([])
  })

  it('accepts recreate: old containers gone, new running db and app', () => {
    const current = [container('app2', 'app'), container('db2', 'db')]
    expect(teardownProblems(evidence({mode: 'recreate', current}))).to.deep.equal([])
  })

  it('names old containers that are still there', () => {
    const problems = teardownProblems(evidence({oldRemaining: ['db1'], current: [OLD[1]]}))
    expect(problems[0]).to.equal('the old container(s) demo-db-1 still exist after compose down')
    expect(problems[1]).to.include('remain after compose down')
  })

  it('names leftover networks after down', () => {
    expect(teardownProblems(evidence({networks: ['demo_default']}))).to.deep.equal([
      'network(s) demo_default remain after compose down',
    ])
  })

  it('fails a recreate that kept a container', () => {
    const problems = teardownProblems(evidence({mode: 'recreate', current: [container('app2', 'app'), OLD[1]]}))
    expect(problems).to.deep.equal(['compose up --force-recreate left no new running db container'])
  })

  it('fails when the volume vanished, was removed and created again, or never existed', () => {
    expect(teardownProblems(evidence({volumeCreatedAfter: undefined}))).to.deep.equal([
      'the volume demo_postgres_data is gone after compose down',
    ])
    expect(teardownProblems(evidence({volumeDestroyEvents: 1}))).to.deep.equal([
      'the volume demo_postgres_data was removed and created again during compose down',
    ])
    expect(teardownProblems(evidence({volumeCreatedBefore: undefined}))[0]).to.include('did not exist before')
  })

  it("does not take a moved CreatedAt for a new volume: engine 20.10 reports the _data directory's ctime", () => {
    expect(teardownProblems(evidence({volumeCreatedAfter: '2025-01-01T10:05:00Z'}))).to.deep.equal([])
  })
})
