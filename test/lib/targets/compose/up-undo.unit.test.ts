/** The undo of an interrupted `up`: from the project as found and as it is now, what goes back how. */
import {expect} from 'chai'

import {describePutBack, isEmptyPlan, undoPlan, type FoundProject} from '../../../../src/lib/targets/compose/up-undo.js'

const c = (id: string, service: string, state: string) => ({id, name: `p-${service}-${id}`, service, state})

describe('undo of an interrupted up', () => {
  const downed: FoundProject = {containers: [], networks: []}

  it('after down (no containers, no network): removes what this run created, network included', () => {
    const now = {containers: [c('1', 'db', 'running'), c('2', 'app', 'created')], networks: ['p_default']}
    const plan = undoPlan(downed, now)!
    expect(plan.stop).to.equal(true)
    expect(plan.remove.map((x) => x.id)).to.deep.equal(['1', '2'])
    expect(plan.removeNetworks).to.deep.equal(['p_default'])
    expect(plan.replaced).to.deep.equal([])
  })

  it('keeps a network that was there before, and stops containers that were found stopped', () => {
    const found = {containers: [c('1', 'db', 'exited'), c('2', 'app', 'exited')], networks: ['p_default']}
    const now = {containers: [c('1', 'db', 'running'), c('2', 'app', 'exited')], networks: ['p_default']}
    const plan = undoPlan(found, now)!
    expect(plan).to.deep.equal({stop: true, remove: [], removeNetworks: [], replaced: []})
  })

  it('has nothing to do when nothing changed (negative control)', () => {
    const found = {containers: [c('1', 'db', 'exited')], networks: ['p_default']}
    expect(isEmptyPlan(undoPlan(found, found)!)).to.equal(true)
    expect(isEmptyPlan(undoPlan(downed, downed)!)).to.equal(true)
  })

  it('names found containers that Compose replaced: they cannot come back', () => {
    const found = {containers: [c('1', 'db', 'exited')], networks: ['p_default']}
    const now = {containers: [c('9', 'db', 'running')], networks: ['p_default']}
    const plan = undoPlan(found, now)!
    expect(plan.remove.map((x) => x.id)).to.deep.equal(['9'])
    expect(plan.replaced).to.deep.equal(['p-db-1'])
  })

  it('leaves a stack that was found running alone', () => {
    const found = {containers: [c('1', 'db', 'running'), c('2', 'app', 'exited')], networks: ['p_default']}
    expect(undoPlan(found, found)).to.equal(undefined)
  })

  it('says exactly what it did', () => {
    const removed = describePutBack('p', downed, {
      stopped: true,
      removed: ['p-db-1', 'p-app-1'],
      removedNetworks: ['p_default'],
      replaced: [],
    })
    expect(removed).to.equal(
      "up of stack 'p' stopped; back as found (no containers): removed the container(s) it had created (p-db-1, p-app-1), removed the network p_default it had created",
    )
    const found = {containers: [c('1', 'db', 'exited')], networks: ['p_default']}
    const stopped = describePutBack('p', found, {stopped: true, removed: [], removedNetworks: [], replaced: []})
    expect(stopped).to.include('(stopped containers p-db-1): stopped p-db-1 again').and.not.include('removed')
    const nothing = describePutBack('p', downed, {stopped: false, removed: [], removedNetworks: [], replaced: []})
    expect(nothing).to.include('nothing had been started yet')
  })
})
