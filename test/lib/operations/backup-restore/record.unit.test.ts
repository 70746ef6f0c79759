import {expect} from 'chai'

import {countIsExact, RECORD_FORMAT, readBackupRecord} from '../../../../src/lib/operations/backup-restore/record.js'

describe('backup records', () => {
  const v2 = {
    format: 'stackctl-backup/2',
    project: 'demo',
    volume: 'demo_postgres_data',
    database: 'visits',
    pgMajor: 17,
    pgVersion: 'PostgreSQL 17.5',
    schemaVersion: 1,
    visits: 3,
    createdAt: '2025-01-02T03:04:05.678Z',
    bytes: 2048,
    sha256: 'ab'.repeat(32),
  }
  const {schemaVersion: _unused, ...v1Fields} = v2
  const v1 = {...v1Fields, format: 'stackctl-backup/1'}

  it('writes format 2 and reads it back whole', () => {
    expect(RECORD_FORMAT).to.equal('stackctl-backup/2')
    expect(readBackupRecord(JSON.stringify(v2))).to.deep.equal({record: v2})
    expect(readBackupRecord(JSON.stringify({...v2, visits: null, schemaVersion: null}))).to.have.nested.property(
      'record.visits',
      null,
    )
  })

  it('still reads format 1, whose schema version is unknown and whose count is not exact', () => {
    const reading = readBackupRecord(JSON.stringify(v1))
    expect(reading).to.deep.equal({record: {...v1, schemaVersion: null}})
    expect(countIsExact((reading as {record: never}).record)).to.equal(false)
    expect(countIsExact(v2 as never)).to.equal(true)
    expect(countIsExact({...v2, visits: null} as never)).to.equal(false)
  })

  it('says why anything else is not a record', () => {
    expect(readBackupRecord('not json')).to.deep.equal({problem: 'it is not valid JSON'})
    expect(readBackupRecord('null')).to.deep.equal({problem: 'it is not a record'})
    expect(readBackupRecord('[]')).to.deep.equal({problem: 'it is not a record'})
    expect(readBackupRecord(JSON.stringify({...v2, format: 'other'}))).to.deep.equal({
      problem: 'it is not a stackctl backup record',
    })
    expect(readBackupRecord(JSON.stringify({...v2, format: 'stackctl-backup/3'}))).to.deep.equal({
      problem: 'its format stackctl-backup/3 is newer than this stackctl reads',
    })
    expect(readBackupRecord(JSON.stringify({...v2, pgMajor: '17', visits: -1}))).to.deep.equal({
      problem: 'it has no valid pgMajor, visits',
    })
    expect(readBackupRecord(JSON.stringify({...v2, schemaVersion: 'one'}))).to.deep.equal({
      problem: 'it has no valid schemaVersion',
    })
    expect(readBackupRecord(JSON.stringify({...v2, sha256: 'xyz', createdAt: 'yesterday'}))).to.deep.equal({
      problem: 'it has no valid createdAt, sha256',
    })
  })
})
