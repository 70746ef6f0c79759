import {expect} from 'chai'

import {UsageError} from '../../../../src/lib/errors.js'
import type {RepoBackup, RepoInfo} from '../../../../src/lib/operations/protect/pgbackrest.js'
import {parseRepoInfo} from '../../../../src/lib/operations/protect/pgbackrest.js'
import {recoveryScript} from '../../../../src/lib/operations/protect/restore.js'
import {
  chooseBackup,
  lsnValue,
  parseRecoveryTarget,
  proofFailures,
  recoveryStopReason,
  restoreOptions,
  segmentEndLsn,
  type RecoveryObservation,
} from '../../../../src/lib/operations/protect/recovery.js'

const backup = (label: string, stop: number, lsnStop: string): RepoBackup => ({
  label,
  type: 'full',
  start: stop - 2,
  stop,
  archiveStart: '000000010000000000000002',
  archiveStop: '000000010000000000000002',
  lsnStop,
  repoSize: 1,
})
const info: RepoInfo = {
  status: 'ok',
  backups: [backup('b1', 1_000, '0/2000100'), backup('b2', 2_000, '0/5000100')],
  archive: {min: '000000010000000000000002', max: '000000010000000000000009'},
}
const at = (seconds: number) => new Date(seconds * 1000)

describe('point-in-time recovery: targets, range and proof', () => {
  it('takes exactly one target, each checked for its form', () => {
    expect(parseRecoveryTarget({latest: true})).to.deep.equal({kind: 'latest'})
    expect(parseRecoveryTarget({'to-name': 'before-x'})).to.deep.equal({kind: 'name', name: 'before-x'})
    expect(parseRecoveryTarget({'to-lsn': '0/3a'})).to.deep.equal({kind: 'lsn', lsn: '0/3A'})
    expect(parseRecoveryTarget({'to-time': '2026-12-06T10:00:00+01:00'})).to.deep.equal({
      kind: 'time',
      time: new Date('2026-12-06T09:00:00Z'),
    })
    for (const flags of [
      {},
      {latest: true, 'to-name': 'x'},
      {'to-time': '2026-12-06T10:00:00'}, // no zone: a different instant on every machine
      {'to-time': 'yesterday'},
      {'to-lsn': '3000060'},
      {'to-name': "x'; DROP"},
    ]) {
      expect(() => parseRecoveryTarget(flags), JSON.stringify(flags)).to.throw(UsageError)
    }
  })

  it('restores from the newest backup that ends before the target, and refuses one before the oldest', () => {
    expect(chooseBackup({kind: 'time', time: at(1_500)}, info)).to.deep.include({backup: info.backups[0]})
    expect(chooseBackup({kind: 'time', time: at(2_500)}, info)).to.deep.include({backup: info.backups[1]})
    const early = chooseBackup({kind: 'time', time: at(999)}, info)
    expect(early)
      .to.have.property('refused')
      .that.matches(/before the oldest backup ended; the repository can restore from 1970-01-01T00:16:40.000Z/)
    expect(chooseBackup({kind: 'lsn', lsn: '0/3000000'}, info)).to.deep.include({backup: info.backups[0]})
    expect(chooseBackup({kind: 'lsn', lsn: '0/2000000'}, info)).to.have.property('refused')
  })

  it('refuses a target past the last archived WAL', () => {
    // Segment 9 ends at 0/A000000.
    expect(segmentEndLsn('000000010000000000000009')).to.equal(lsnValue('0/A000000'))
    expect(chooseBackup({kind: 'lsn', lsn: '0/9FFFFFF'}, info)).to.have.property('backup')
    expect(chooseBackup({kind: 'lsn', lsn: '0/A000000'}, info))
      .to.have.property('refused')
      .that.matches(/past the last archived WAL/)
    expect(chooseBackup({kind: 'time', time: at(3_000)}, info, at(2_900)))
      .to.have.property('refused')
      .that.matches(/past the last archived WAL/)
    expect(chooseBackup({kind: 'time', time: at(2_800)}, info, at(2_900))).to.have.property('backup')
    expect(chooseBackup({kind: 'latest'}, {status: 'ok', backups: []})).to.have.property('refused')
  })

  it('accepts a restore only when the server proves it stopped at the target', () => {
    const good: RecoveryObservation = {
      inRecovery: false,
      timeline: 2,
      backupTimeline: 1,
      log: 'LOG:  recovery stopping at restore point "p1", time 2026-12-06 10:00:43\nLOG:  selected new timeline ID: 2',
      visits: 5,
      counter: 5,
      newestVisitAt: new Date('2026-12-06T10:00:42Z'),
      maxVisitId: 5,
    }
    expect(proofFailures({kind: 'name', name: 'p1'}, good)).to.deep.equal([])
    expect(proofFailures({kind: 'time', time: new Date('2026-12-06T10:00:42Z')}, good)).to.deep.equal([])
    // Each broken fact is named (negative controls).
    expect(proofFailures({kind: 'name', name: 'p2'}, good)).to.have.length(1)
    expect(proofFailures({kind: 'name', name: 'p1'}, {...good, log: 'LOG:  redo done'})).to.have.length(2)
    expect(proofFailures({kind: 'latest'}, {...good, inRecovery: true})).to.have.length(1)
    expect(proofFailures({kind: 'latest'}, {...good, timeline: 1})).to.have.length(1)
    expect(proofFailures({kind: 'latest'}, {...good, counter: 6})).to.have.length(1)
    expect(proofFailures({kind: 'time', time: new Date('2026-12-06T10:00:41Z')}, good).join()).to.match(
      /newest restored visit .* after the target/,
    )
  })

  it('runs the restore and then the server (the container runs as postgres), with archiving off until the switch', () => {
    expect(recoveryScript(['--set=b1', '--type=name', "--target=it's"])).to.equal(
      "set -e; pgbackrest --stanza=visits --set=b1 --type=name '--target=it'\\''s' restore; " +
        'exec postgres -c archive_mode=off -c listen_addresses=',
    )
  })

  it("reads pgBackRest's info for the stanza: backups in order and the archived WAL range", () => {
    const json = JSON.stringify([
      {
        name: 'visits',
        status: {code: 0, message: 'ok'},
        archive: [{min: '000000010000000000000005', max: '00000002000000000000000B'}],
        backup: [
          {
            label: '20261206-094608F',
            type: 'full',
            timestamp: {start: 1796550368, stop: 1796550370},
            archive: {start: '000000010000000000000007', stop: '000000010000000000000008'},
            lsn: {start: '0/7000028', stop: '0/8000050'},
            info: {repository: {delta: 5988811, size: 5988811}},
          },
        ],
      },
    ])
    const parsed = parseRepoInfo(json)
    expect(parsed.status).to.equal('ok')
    expect(parsed.archive).to.deep.equal({min: '000000010000000000000005', max: '00000002000000000000000B'})
    expect(parsed.backups[0]).to.include({label: '20261206-094608F', lsnStop: '0/8000050', stop: 1796550370})
    expect(parseRepoInfo(JSON.stringify([{name: 'other'}])).status).to.equal('missing stanza')
  })

  it('gives a time target in the form recovery_target_time accepts (PostgreSQL 17 refuses ISO 8601 with T and Z)', () => {
    const set = backup('b1', 1_765_000_000, '0/2000120')
    expect(restoreOptions({kind: 'time', time: new Date('2026-12-06T09:30:00.123Z')}, set)).to.deep.equal([
      '--set=b1',
      '--type=time',
      '--target=2026-12-06 09:30:00.123+00',
      '--target-action=promote',
    ])
  })

  it('refuses a replay to the end of the archive that ended before its last segment (a segment missing on the way)', () => {
    const seen = (branchLsn: string) => ({
      inRecovery: false,
      timeline: 2,
      backupTimeline: 1,
      log: '',
      visits: 5,
      counter: 5,
      newestVisitAt: null,
      maxVisitId: 5,
      branchLsn,
      archiveEnd: '000000010000000000000009',
    })
    expect(proofFailures({kind: 'latest'}, seen('0/9000A28'))).to.deep.equal([])
    expect(proofFailures({kind: 'latest'}, seen('0/A000000'))).to.deep.equal([])
    expect(proofFailures({kind: 'latest'}, seen('0/7000000'))).to.deep.equal([
      'the replay ended at 0/7000000, before the last archived WAL segment 000000010000000000000009: a segment on the way is missing from the archive or unreadable',
    ])
  })

  it('names why a recovery server stopped: its last FATAL that is not a refused connection', () => {
    const log = [
      '2026-12-06 20:37:01 UTC [41] LOG:  starting PostgreSQL 17.6',
      '2026-12-06 20:37:02 UTC [52] FATAL:  the database system is starting up',
      '2026-12-06 20:37:02 UTC [44] LOG:  restored log file "000000020000000000000005" from archive',
      '2026-12-06 20:37:03 UTC [44] FATAL:  recovery ended before configured recovery target was reached',
      '2026-12-06 20:37:03 UTC [53] FATAL:  the database system is not yet accepting connections',
      '2026-12-06 20:37:03 UTC [41] LOG:  startup process (PID 44) exited with exit code 1',
    ].join('\n')
    expect(recoveryStopReason(log)).to.equal('recovery ended before configured recovery target was reached')
    // Control: with only the probes' refusals, none of them is given as the reason.
    const refusedOnly = log
      .split('\n')
      .filter((line) => !line.includes('recovery ended'))
      .join('\n')
    expect(recoveryStopReason(refusedOnly)).to.equal(
      'its log ends: 2026-12-06 20:37:03 UTC [41] LOG:  startup process (PID 44) exited with exit code 1',
    )
    expect(recoveryStopReason('')).to.equal('its log is empty')
  })
})
