import {expect} from 'chai'

import {UsageError} from '../../../../../src/lib/errors.js'
import {chooseHa, haExpectedTasks, placeMembers} from '../../../../../src/lib/targets/swarm/ha/spec.js'

const nodes = ['n2', 'n1', 'n3']

describe('HA database tier: members and choice', () => {
  it('places one member per node, the first three by host name, and keeps remembered nodes', () => {
    expect(placeMembers({nodes}).map((m) => `${m.pg}/${m.etcd}@${m.node}`)).to.deep.equal([
      'pg1/etcd1@n1',
      'pg2/etcd2@n2',
      'pg3/etcd3@n3',
    ])
    expect(placeMembers({nodes: [...nodes, 'n0'], remembered: ['n3', 'n2', 'n1']}).map((m) => m.node)).to.deep.equal([
      'n3',
      'n2',
      'n1',
    ])
  })

  it('refuses fewer than 3 nodes, and a remembered node that left the swarm', () => {
    expect(() => placeMembers({nodes: ['n1', 'n2']})).to.throw(UsageError, 'needs 3 swarm nodes')
    expect(() => placeMembers({nodes, remembered: ['n1', 'n2', 'n9']})).to.throw(UsageError, 'pinned to n9')
  })

  it('is the single db by default, HA on --db-replicas 3 (sync unless async is asked), and stays HA', () => {
    expect(chooseHa({nodes, singleDbVolumeOn: []})).to.equal(undefined)
    const ha = chooseHa({dbReplicas: 3, nodes, singleDbVolumeOn: []})
    expect(ha?.durability).to.equal('sync')
    expect(chooseHa({dbReplicas: 3, durability: 'async', nodes, singleDbVolumeOn: []})?.durability).to.equal('async')
    expect(chooseHa({nodes, singleDbVolumeOn: [], remembered: ha})).to.deep.equal(ha)
    expect(haExpectedTasks(ha!)).to.deep.equal({etcd1: 1, pg1: 1, etcd2: 1, pg2: 1, etcd3: 1, pg3: 1, router: 3})
  })

  it('changes nothing implicitly: no way back to one db, no durability change', () => {
    const ha = chooseHa({dbReplicas: 3, nodes, singleDbVolumeOn: []})
    expect(() => chooseHa({dbReplicas: 1, nodes, singleDbVolumeOn: [], remembered: ha})).to.throw(UsageError)
    expect(() => chooseHa({durability: 'async', nodes, singleDbVolumeOn: [], remembered: ha})).to.throw(
      UsageError,
      'not supported yet',
    )
    expect(() => chooseHa({dbReplicas: 2, nodes, singleDbVolumeOn: []})).to.throw(UsageError, 'invalid --db-replicas 2')
    expect(() => chooseHa({durability: 'async', nodes, singleDbVolumeOn: []})).to.throw(UsageError, '--db-replicas 3')
  })

  it('grows a single db holding data into members seeded from it, the first member on its node', () => {
    const ha = chooseHa({dbReplicas: 3, nodes, singleDbVolumeOn: ['n3']})
    expect(ha?.seededFrom).to.equal('n3')
    expect(ha?.members.map((m) => `${m.pg}@${m.node}`)).to.deep.equal(['pg1@n3', 'pg2@n1', 'pg3@n2'])
    // Control: without data on a node the members are placed by host name and nothing is seeded.
    const fresh = chooseHa({dbReplicas: 3, nodes, singleDbVolumeOn: []})
    expect(fresh?.seededFrom).to.equal(undefined)
    expect(fresh?.members[0].node).to.equal('n1')
    // Later deploys keep the seeded placement (and never seed again: deploy seeds only without a remembered tier).
    expect(chooseHa({nodes, singleDbVolumeOn: ['n3'], remembered: ha})).to.deep.equal(ha)
    // Without --db-replicas 3 the single db stays.
    expect(chooseHa({nodes, singleDbVolumeOn: ['n3']})).to.equal(undefined)
  })

  it('refuses to guess which of two single-db volumes holds the visits', () => {
    expect(() => chooseHa({dbReplicas: 3, nodes, singleDbVolumeOn: ['n1', 'n2']})).to.throw(
      UsageError,
      'volume is on n1 and n2',
    )
  })

  it('refuses to grow a single db whose volume cannot be looked into (a remote swarm): a new cluster would not hold its visits', () => {
    expect(() => chooseHa({dbReplicas: 3, nodes, singleDbVolumeOn: [], singleDbUnseenOn: 'n2'})).to.throw(
      UsageError,
      'pinned to n2, whose volumes stackctl cannot look into',
    )
    // Control: without that single db the members are made.
    expect(chooseHa({dbReplicas: 3, nodes, singleDbVolumeOn: []})?.members).to.have.length(3)
  })
})
