import {expect} from 'chai'

import {
  defaultBackupFile,
  formatBytes,
  isStepDatabaseName,
  parseDumpedFromVersion,
  sidecarPath,
  stepDatabaseName,
  utcStamp,
} from '../../../../src/lib/operations/backup-restore/format.js'

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

  describe('dump headers', () => {
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

    it('recognises exactly the step names, the only databases dropped by pattern', () => {
      expect(isStepDatabaseName('visits', stepDatabaseName('visits', 'restore', date, '1a2b'))).to.equal(true)
      expect(isStepDatabaseName('visits', stepDatabaseName('visits', 'old', date, 'ffff'))).to.equal(true)
      for (const name of [
        'visits',
        'visits_restore_manual',
        'visits_restore_20250102t030405z_1a2b_copy',
        'visits_old_20250102t030405z_1a2',
        'visits_new_20250102t030405z_1a2b',
        'other_restore_20250102t030405z_1a2b',
        'xvisits_restore_20250102t030405z_1a2b',
        'postgres',
      ]) {
        expect(isStepDatabaseName('visits', name), name).to.equal(false)
      }
    })
  })
})
