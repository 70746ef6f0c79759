import {expect} from 'chai'

import {
  describeMembers,
  nodeLossVerdict,
  parseCluster,
  type HaMemberStatus,
} from '../../../../../src/lib/targets/swarm/ha/members.js'

// Patroni 4.0.7's GET /cluster, as a member of the real HA stack answered it after a failover.
const CLUSTER = {
  members: [
    {name: 'pg1', role: 'leader', state: 'running', host: 'pg1', port: 5432, timeline: 3},
    {name: 'pg2', role: 'quorum_standby', state: 'streaming', host: 'pg2', port: 5432, timeline: 3, lag: 0},
    {name: 'pg3', role: 'quorum_standby', state: 'streaming', host: 'pg3', port: 5432, timeline: 3, lag: 4096},
  ],
  scope: 'demo',
}
const nodeOf = (member: string) => `node-${member}`
const members = () => parseCluster(CLUSTER, nodeOf)
const without = (name: string) => members().filter((m) => m.name !== name)
const patched = (name: string, change: Partial<HaMemberStatus>) =>
  members().map((m) => (m.name === name ? {...m, ...change} : m))

describe('HA members (status --target swarm)', () => {
  it('reads Patroni /cluster into the member table: role, state, timeline, lag and node', () => {
    expect(members()).to.deep.equal([
      {name: 'pg1', role: 'leader', state: 'running', timeline: 3, lagBytes: null, node: 'node-pg1'},
      {name: 'pg2', role: 'quorum_standby', state: 'streaming', timeline: 3, lagBytes: 0, node: 'node-pg2'},
      {name: 'pg3', role: 'quorum_standby', state: 'streaming', timeline: 3, lagBytes: 4096, node: 'node-pg3'},
    ])
    expect(parseCluster({error: 'x'}, nodeOf)).to.deep.equal([])
    const table = describeMembers(members())
    expect(table[0]).to.match(/pg1\s+leader\s+running\s+tl 3\s+lag -\s+node-pg1/)
    expect(table[2]).to.match(/pg3\s+quorum_standby\s+streaming\s+tl 3\s+lag 4096 B\s+node-pg3/)
  })

  it('says a node can be lost with sync replication and a streaming quorum standby on the leader timeline', () => {
    const ok = nodeLossVerdict(members(), 'sync')
    expect(ok.safe).to.equal(true)
    expect(ok.reason).to.include('pg2 or pg3')
    expect(nodeLossVerdict(without('pg3'), 'sync')).to.include({safe: true})
    expect(nodeLossVerdict(without('pg3'), 'sync').reason).to.include('one more loss would stop writes')
  })

  it('says no when it is not so: async, no leader, two leaders, no sync standby, a standby on another timeline', () => {
    expect(nodeLossVerdict(members(), 'async')).to.include({safe: false})
    expect(nodeLossVerdict(without('pg1'), 'sync').reason).to.include('no leader')
    expect(nodeLossVerdict(patched('pg2', {role: 'leader'}), 'sync').reason).to.include('2 leaders')
    const replicasOnly = members().map((m) => (m.role === 'leader' ? m : {...m, role: 'replica'}))
    expect(nodeLossVerdict(replicasOnly, 'sync')).to.include({safe: false})
    const diverged = patched('pg2', {timeline: 2}).filter((m) => m.name !== 'pg3')
    expect(nodeLossVerdict(diverged, 'sync')).to.include({safe: false})
    expect(
      nodeLossVerdict(
        patched('pg2', {state: 'starting'}).filter((m) => m.name !== 'pg3'),
        'sync',
      ),
    ).to.include({
      safe: false,
    })
  })
})
