import {expect} from 'chai'

import {UsageError} from '../../../../src/lib/errors.js'
import {chooseDbNode, dbNodeLabel} from '../../../../src/lib/targets/swarm/db-node.js'
import {StubSwarm} from '../../../support/stub-swarm.js'

function nodes(pinnedOn?: string) {
  const swarm = new StubSwarm()
    .addNode('n1', {id: 'm', role: 'manager'})
    .addNode('n2', {id: 'w2'})
    .addNode('n3', {id: 'w3'})
  if (pinnedOn) swarm.nodeList.find((n) => n.hostname === pinnedOn)!.labels[dbNodeLabel('demo')] = 'true'
  return swarm.nodeList
}

const base = {project: 'demo', holders: [] as string[], managerId: 'm'}

describe('db node choice', () => {
  it('pins a new stack to the manager unless told otherwise', () => {
    const choice = chooseDbNode({...base, nodes: nodes()})
    expect(choice).to.include({action: 'pinned'})
    expect(choice.node.hostname).to.equal('n1')
    expect(chooseDbNode({...base, nodes: nodes(), requested: 'n2'}).node.hostname).to.equal('n2')
  })

  it('keeps an existing pin, and refuses to move it', () => {
    expect(chooseDbNode({...base, nodes: nodes('n3')})).to.deep.include({action: 'kept'})
    expect(chooseDbNode({...base, nodes: nodes('n3'), requested: 'n3'}).node.hostname).to.equal('n3')
    expect(() => chooseDbNode({...base, nodes: nodes('n3'), requested: 'n2'})).to.throw(
      UsageError,
      /pinned to n3, where its data volume is; stackctl never moves it/,
    )
  })

  it('follows the data volume when no pin exists, and refuses a --db-node elsewhere', () => {
    expect(chooseDbNode({...base, nodes: nodes(), holders: ['n2']}).node.hostname).to.equal('n2')
    expect(() => chooseDbNode({...base, nodes: nodes(), holders: ['n2'], requested: 'n3'})).to.throw(
      UsageError,
      /data volume of 'demo' is on n2, not on n3/,
    )
  })

  it('refuses an unknown node and a project pinned twice', () => {
    expect(() => chooseDbNode({...base, nodes: nodes(), requested: 'n9'})).to.throw(UsageError, /no node 'n9'/)
    const twice = nodes('n2')
    twice[2].labels[dbNodeLabel('demo')] = 'true'
    expect(() => chooseDbNode({...base, nodes: twice})).to.throw(UsageError, /pinned to 2 nodes \(n2, n3\)/)
  })
})
