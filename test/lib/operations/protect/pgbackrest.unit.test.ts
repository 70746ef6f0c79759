/** pgBackRest's `info --output=json` after a stanza-upgrade: each backup with its cluster, the current archive. */
import {expect} from 'chai'

import {currentCluster, otherClusters, parseRepoInfo} from '../../../../src/lib/operations/protect/pgbackrest.js'
import {snapshotsOf} from '../../../../src/lib/operations/protect/snapshot.js'

const backup = (label: string, dbId: number, start: string) => ({
  label,
  type: 'full',
  timestamp: {start: 1_800_000_000, stop: 1_800_000_010},
  archive: {start, stop: start},
  lsn: {start: '0/2000028', stop: '0/2000100'},
  info: {repository: {delta: 1000, size: 1000}},
  database: {id: dbId},
})

/** 15 (db 1), upgraded to 17 (db 2), rolled back to the same 15 cluster (db 3). */
const info = (dbs: number) =>
  JSON.stringify([
    {
      name: 'visits',
      status: {code: 0, message: 'ok'},
      db: [
        {id: 1, version: '15', 'system-id': 7400000000000001},
        {id: 2, version: '17', 'system-id': 7500000000000002},
        {id: 3, version: '15', 'system-id': 7400000000000001},
      ].slice(0, dbs),
      backup: [
        backup('20261207-010000F', 1, '000000010000000000000009'),
        backup('20261207-020000F', 2, '000000010000000000000003'),
        backup('20261207-030000F', 3, '00000001000000000000000C'),
      ].slice(0, dbs),
      archive: [
        {id: '15-1', database: {id: 1}, min: '000000010000000000000002', max: '00000001000000000000000B'},
        {id: '17-2', database: {id: 2}, min: '000000010000000000000001', max: '000000010000000000000004'},
        {id: '15-3', database: {id: 3}, min: '00000001000000000000000C', max: '00000001000000000000000D'},
      ].slice(0, dbs),
    },
  ])

describe('parseRepoInfo across a db upgrade (stanza-upgrade)', () => {
  it('reads the current cluster, its archive only, and each backup with its major and system id', () => {
    const upgraded = parseRepoInfo(info(2))
    expect(upgraded.pgVersion).to.equal('17')
    expect(upgraded.systemId).to.equal('7500000000000002')
    // 15-1's max (…0B) sorts after 17-2's: the range is the current archive id's, not both mixed.
    expect(upgraded.archive).to.deep.equal({min: '000000010000000000000001', max: '000000010000000000000004'})
    expect(upgraded.backups.map((b) => [b.pgVersion, b.systemId])).to.deep.equal([
      ['15', '7400000000000001'],
      ['17', '7500000000000002'],
    ])
    expect(upgraded.history?.map((db) => db.id)).to.deep.equal([1, 2])
  })

  it('currentCluster keeps only the running major’s backups; after a rollback the 15 cluster’s earlier ones count again', () => {
    const upgraded = parseRepoInfo(info(2))
    expect(currentCluster(upgraded).backups.map((b) => b.label)).to.deep.equal(['20261207-020000F'])
    expect(otherClusters(upgraded).map((b) => b.label)).to.deep.equal(['20261207-010000F'])
    const rolledBack = parseRepoInfo(info(3))
    expect(rolledBack.archive?.max).to.equal('00000001000000000000000D')
    // Each backup keeps its own archive id's range: the first 15 backup's WAL is under 15-1, not 15-3.
    expect(rolledBack.backups[0].walRange).to.deep.equal({
      min: '000000010000000000000002',
      max: '00000001000000000000000B',
    })
    expect(currentCluster(rolledBack).backups.map((b) => b.label)).to.deep.equal([
      '20261207-010000F',
      '20261207-030000F',
    ])
  })

  it('a repository of one cluster is read as before', () => {
    const one = parseRepoInfo(info(1))
    expect(one.archive).to.deep.equal({min: '000000010000000000000002', max: '00000001000000000000000B'})
    expect(currentCluster(one).backups).to.have.length(1)
    expect(otherClusters(one)).to.deep.equal([])
  })

  it('snapshot list: a 15 snapshot is not restorable on 17, and is again after the rollback (its WAL under 15-1)', () => {
    const annotated = (dbs: number) =>
      parseRepoInfo(
        info(dbs).replace(
          '"label":"20261207-010000F"',
          '"label":"20261207-010000F","annotation":{"stackctl-name":"on15"}',
        ),
      )
    const restorable = (dbs: number) => snapshotsOf(annotated(dbs)).map((s) => [s.name, s.pgMajor, s.restorable])
    expect(restorable(1)).to.deep.equal([['on15', 15, true]])
    expect(restorable(2)).to.deep.equal([['on15', 15, false]])
    expect(restorable(3)).to.deep.equal([['on15', 15, true]])
  })
})
