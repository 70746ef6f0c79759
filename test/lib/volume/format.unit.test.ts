import {expect} from 'chai'

import {
  dataDirInVolume,
  defaultBackupFile,
  dfIsSummaryOnly,
  formatBytes,
  isCompatible,
  majorFromVersionNum,
  parseBackupRecord,
  parseDumpedFromVersion,
  parsePgVersionFile,
  parsePgVersionListing,
  pgVersionCandidates,
  sidecarPath,
  stepDatabaseName,
  utcStamp,
  volumeSizeFromDf,
} from '../../../src/lib/volume/format.js'

describe('volume format helpers', () => {
  describe('formatBytes', () => {
    it('keeps small sizes exact and uses binary units above', () => {
      expect(formatBytes(0)).to.equal('0 B')
      expect(formatBytes(1023)).to.equal('1023 B')
      expect(formatBytes(1024)).to.equal('1.00 KiB')
      expect(formatBytes(1536)).to.equal('1.50 KiB')
      expect(formatBytes(47 * 1024 * 1024 + 300 * 1024)).to.equal('47.3 MiB')
      expect(formatBytes(3 * 1024 ** 3)).to.equal('3.00 GiB')
      expect(formatBytes(5 * 1024 ** 5)).to.equal('5120.0 TiB')
    })

    it('says unknown for the engine’s -1', () => {
      expect(formatBytes(-1)).to.equal('unknown')
      expect(formatBytes(Number.NaN)).to.equal('unknown')
    })
  })

  describe('volumeSizeFromDf', () => {
    const name = 'demo_postgres_data'

    it('reads the older Volumes[].UsageData.Size shape', () => {
      const df = {
        Volumes: [
          {Name: 'other', UsageData: {Size: 1}},
          {Name: name, UsageData: {Size: 4096, RefCount: 1}},
        ],
      }
      expect(volumeSizeFromDf(df, name)).to.equal(4096)
      expect(dfIsSummaryOnly(df)).to.equal(false)
    })

    it('reads the newer VolumesDiskUsage.Items shape', () => {
      const df = {VolumesDiskUsage: {TotalCount: 1, Items: [{Name: name, UsageData: {Size: 123, RefCount: 0}}]}}
      expect(volumeSizeFromDf(df, name)).to.equal(123)
      expect(dfIsSummaryOnly(df)).to.equal(false)
    })

    it('maps -1 and missing usage data to -1 (unknown)', () => {
      expect(volumeSizeFromDf({Volumes: [{Name: name, UsageData: {Size: -1}}]}, name)).to.equal(-1)
      expect(volumeSizeFromDf({Volumes: [{Name: name, UsageData: null}]}, name)).to.equal(-1)
      expect(volumeSizeFromDf({Volumes: [{Name: name}]}, name)).to.equal(-1)
    })

    it('is undefined when the volume is not listed, and spots a summary-only answer', () => {
      expect(volumeSizeFromDf({Volumes: []}, name)).to.equal(undefined)
      expect(volumeSizeFromDf({Volumes: null}, name)).to.equal(undefined)
      expect(volumeSizeFromDf(undefined, name)).to.equal(undefined)
      const summary = {VolumesDiskUsage: {TotalCount: 3, TotalSize: 999}}
      expect(volumeSizeFromDf(summary, name)).to.equal(undefined)
      expect(dfIsSummaryOnly(summary)).to.equal(true)
    })
  })

  describe('PG_VERSION', () => {
    it('parses majors from 10 on and the two-part ones before', () => {
      expect(parsePgVersionFile('17\n')).to.equal(17)
      expect(parsePgVersionFile(' 15 ')).to.equal(15)
      expect(parsePgVersionFile('9.6\n')).to.equal(9.6)
      expect(parsePgVersionFile('')).to.equal(undefined)
      expect(parsePgVersionFile('17.2')).to.equal(undefined)
      expect(parsePgVersionFile('9')).to.equal(undefined)
      expect(parsePgVersionFile('seventeen')).to.equal(undefined)
    })

    it('looks at the root and at <major>/docker for 18 and later', () => {
      expect(pgVersionCandidates('/v', 17)).to.deep.equal(['/v/PG_VERSION', '/v/18/docker/PG_VERSION'])
      expect(pgVersionCandidates('/v', 19)).to.deep.equal([
        '/v/PG_VERSION',
        '/v/18/docker/PG_VERSION',
        '/v/19/docker/PG_VERSION',
      ])
      expect(dataDirInVolume(17)).to.equal('')
      expect(dataDirInVolume(18)).to.equal('18/docker')
    })

    it('parses grep -H output and prefers the root-level marker', () => {
      expect(parsePgVersionListing('/v/PG_VERSION:17\n', '/v')).to.deep.equal({major: 17, dataDir: ''})
      expect(parsePgVersionListing('/v/18/docker/PG_VERSION:18\n', '/v')).to.deep.equal({
        major: 18,
        dataDir: '18/docker',
      })
      expect(parsePgVersionListing('/v/18/docker/PG_VERSION:18\n/v/PG_VERSION:15\n', '/v')).to.deep.equal({
        major: 15,
        dataDir: '',
      })
      expect(parsePgVersionListing('', '/v')).to.equal(undefined)
      expect(parsePgVersionListing('/v/PG_VERSION:garbage\n', '/v')).to.equal(undefined)
    })

    it('is compatible only with the same major in the layout that major uses', () => {
      expect(isCompatible({major: 17, dataDir: ''}, 17)).to.equal(true)
      expect(isCompatible({major: 15, dataDir: ''}, 17)).to.equal(false)
      expect(isCompatible({major: 18, dataDir: '18/docker'}, 18)).to.equal(true)
      expect(isCompatible({major: 18, dataDir: ''}, 18)).to.equal(false)
      expect(isCompatible({major: 18, dataDir: '18/docker'}, 17)).to.equal(false)
      expect(isCompatible(undefined, 17)).to.equal(true)
    })
  })

  describe('dump headers and server versions', () => {
    it('reads the major from pg_restore --list', () => {
      const listing = [
        ';',
        '; Archive created at 2025-01-02 03:04:05 UTC',
        ';     dbname: visits',
        ';     Dumped from database version: 17.5 (Debian 17.5-1)',
        ';     Dumped by pg_dump version: 17.5 (Debian 17.5-1)',
      ].join('\n')
      expect(parseDumpedFromVersion(listing)).to.equal(17)
      expect(parseDumpedFromVersion(';     Dumped from database version: 9.6.24')).to.equal(9.6)
      expect(parseDumpedFromVersion('no header here')).to.equal(undefined)
    })

    it('turns server_version_num into a major', () => {
      expect(majorFromVersionNum('170005\n')).to.equal(17)
      expect(majorFromVersionNum('180000')).to.equal(18)
      expect(majorFromVersionNum('90624')).to.equal(9.6)
      expect(majorFromVersionNum('')).to.equal(undefined)
    })
  })

  describe('names', () => {
    const date = new Date('2025-01-02T03:04:05.678Z')

    it('stamps in compact UTC', () => {
      expect(utcStamp(date)).to.equal('20250102T030405Z')
    })

    it('names the default backup after the project, the major and the time', () => {
      expect(defaultBackupFile('/stack', 'demo', 17, date)).to.equal('/stack/backups/demo-pg17-20250102T030405Z.dump')
      expect(sidecarPath('/b/x.dump')).to.equal('/b/x.dump.json')
    })

    it('makes valid lowercase database names for the restore steps', () => {
      expect(stepDatabaseName('visits', 'restore', date, '1a2b')).to.equal('visits_restore_20250102t030405z_1a2b')
      expect(stepDatabaseName('visits', 'old', date, '1a2b')).to.equal('visits_old_20250102t030405z_1a2b')
      expect(() => stepDatabaseName('visits', 'old', date, 'X; DROP')).to.throw(/invalid database name/)
    })
  })

  describe('parseBackupRecord', () => {
    const record = {
      format: 'stackctl-backup/1',
      project: 'demo',
      volume: 'demo_postgres_data',
      database: 'visits',
      pgMajor: 17,
      pgVersion: 'PostgreSQL 17.5',
      visits: 3,
      createdAt: '2025-01-02T03:04:05.678Z',
      bytes: 2048,
      sha256: 'ab'.repeat(32),
    }

    it('accepts a record written by backup', () => {
      expect(parseBackupRecord(JSON.stringify(record))).to.deep.equal(record)
      expect(parseBackupRecord(JSON.stringify({...record, visits: null}))?.visits).to.equal(null)
    })

    it('ignores anything else', () => {
      expect(parseBackupRecord('not json')).to.equal(undefined)
      expect(parseBackupRecord('null')).to.equal(undefined)
      expect(parseBackupRecord(JSON.stringify({...record, format: 'other'}))).to.equal(undefined)
      expect(parseBackupRecord(JSON.stringify({...record, pgMajor: '17'}))).to.equal(undefined)
    })
  })
})
