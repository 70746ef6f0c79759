/** The observation: the project's listings come from one snapshot until something changes the project. */
import {expect} from 'chai'

import type {ContainerFilter} from '../../../src/lib/engine/engine.js'
import {observeProject} from '../../../src/lib/plan/observe.js'
import {StubEngine} from '../../support/stub-stack.js'

function counting(engine: StubEngine): ContainerFilter[] {
  const seen: ContainerFilter[] = []
  const list = engine.containers.list
  Object.assign(engine.containers, {
    list: async (filter: ContainerFilter) => {
      seen.push(filter)
      return list(filter)
    },
  })
  return seen
}

describe('observeProject', () => {
  it('answers the project’s listings (by service, state, label) from one snapshot', async () => {
    const engine = new StubEngine()
      .addContainer({name: 'demo-db-1', service: 'db'})
      .addContainer({name: 'demo-app-1', service: 'app', state: 'exited'})
      .addContainer({name: 'other-db-1', service: 'db', project: 'other'})
    engine.networksByProject.set('demo', ['demo_default'])
    const seen = counting(engine)
    const observation = await observeProject(engine, 'demo')
    const view = observation.engine
    expect((await view.containers.list({project: 'demo'})).map((c) => c.name)).to.deep.equal([
      'demo-db-1',
      'demo-app-1',
    ])
    expect(
      (await view.containers.list({project: 'demo', service: 'db', runningOnly: true})).map((c) => c.name),
    ).to.deep.equal(['demo-db-1'])
    expect(await view.containers.list({project: 'demo', runningOnly: true, service: 'app'})).to.deep.equal([])
    expect(await view.networks.listByProject('demo')).to.deep.equal(['demo_default'])
    expect(seen).to.have.length(1)
    // Another project's, or the whole engine's, listings are not the snapshot's to answer.
    expect((await view.containers.list({project: 'other'})).map((c) => c.name)).to.deep.equal(['other-db-1'])
    expect(await view.containers.list({publishes: 5000})).to.deep.equal([])
    expect(seen).to.have.length(3)
  })

  it('goes to the engine once invalidated, or after a change made through it; refresh looks again', async () => {
    const engine = new StubEngine().addContainer({name: 'demo-db-1', service: 'db'})
    const seen = counting(engine)
    const observation = await observeProject(engine, 'demo')
    engine.addContainer({name: 'demo-app-1', service: 'app'}) // Compose started it: the snapshot does not know
    expect(await observation.engine.containers.list({project: 'demo'})).to.have.length(1) // control: stale
    observation.invalidate()
    expect(await observation.engine.containers.list({project: 'demo'})).to.have.length(2)
    await observation.refresh()
    expect(observation.current).to.equal(true)
    await observation.engine.containers.remove('id-demo-app-1')
    expect(observation.current).to.equal(false)
    expect(await observation.engine.containers.list({project: 'demo'})).to.have.length(1)
    expect(seen).to.have.length(4)
  })
})
