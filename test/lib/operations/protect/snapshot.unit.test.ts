import {expect} from 'chai'

import {UsageError} from '../../../../src/lib/errors.js'
import {parseRepoInfo, type RepoBackup, type RepoInfo} from '../../../../src/lib/operations/protect/pgbackrest.js'
import {
  chooseBackup,
  proofFailures,
  restoreOptions,
  type RecoveryObservation,
} from '../../../../src/lib/operations/protect/recovery.js'
import {
  defaultSnapshotName,
  deleteRefusal,
  parseVisits,
  pickSnapshot,
  snapshotsOf,
  snapshotTable,
  snapshotTarget,
  validateSnapshotName,
} from '../../../../src/lib/operations/protect/snapshot.js'

const backup = (label: string, stop: number, extra: Partial<RepoBackup> = {}): RepoBackup => ({
  label,
  type: 'full',
  start: stop - 2,
  stop,
  archiveStart: '000000010000000000000004',
  archiveStop: '000000010000000000000004',
  lsnStop: '0/4000100',
  repoSize: 6_076_916,
  pgVersion: '17',
  ...extra,
})
const named = (label: string, stop: number, name: string, visits: string, extra: Partial<RepoBackup> = {}) =>
  backup(label, stop, {annotation: {'stackctl-name': name, 'stackctl-visits': visits}, ...extra})

const info: RepoInfo = {
  status: 'ok',
  backups: [
    backup('20261206-100000F', 1_796_580_000, {archiveStart: '000000010000000000000002'}),
    named('20261206-100100F', 1_796_580_060, 'first', '3000'),
    named('20261206-100200F', 1_796_580_120, 'second', '5000-5003', {
      archiveStart: '000000020000000000000006',
      archiveStop: '000000020000000000000006',
    }),
  ],
  archive: {min: '000000010000000000000002', max: '000000020000000000000008'},
}

describe('snapshots: names, listing, choice', () => {
  it('takes names of letters, digits, _ . - up to 63 (first a letter or digit), and refuses others with exit 2', () => {
    for (const good of ['first', 'before-migration_2.1', 'x'.repeat(63)])
      expect(validateSnapshotName(good)).to.equal(good)
    for (const bad of ['', 'bad name', 'a/b', "it's", 'x'.repeat(64), 'naïve', '--force']) {
      expect(() => validateSnapshotName(bad), bad)
        .to.throw(UsageError)
        .with.property('exitCode', 2)
    }
  })

  it('names a snapshot <project>-<UTC time> by default, a valid name even for a long project', () => {
    const at = new Date('2026-12-06T09:30:05.123Z')
    expect(defaultSnapshotName('demo', at)).to.equal('demo-20261206T093005Z')
    const long = defaultSnapshotName('p'.repeat(80), at)
    expect(validateSnapshotName(long)).to.equal(long)
    expect(long.endsWith('-20261206T093005Z')).to.equal(true)
  })

  it('reads the recorded visits: one count, or the range counted around the backup', () => {
    expect(parseVisits('3000')).to.deep.equal({min: 3000, max: 3000})
    expect(parseVisits('5000-5003')).to.deep.equal({min: 5000, max: 5003})
    for (const bad of [undefined, '', 'many', '5-3', '-1']) expect(parseVisits(bad), String(bad)).to.equal(undefined)
  })

  it('lists only stackctl-annotated backups, with their counts, major and whether their WAL is archived', () => {
    const snapshots = snapshotsOf(info)
    expect(snapshots.map((s) => s.name)).to.deep.equal(['first', 'second'])
    expect(snapshots[0]).to.include({label: '20261206-100100F', pgMajor: 17, restorable: true, type: 'full'})
    expect(snapshots[0].visits).to.deep.equal({min: 3000, max: 3000})
    // A backup on timeline 2 is inside the range ending on timeline 2; past the range's end it is not.
    expect(snapshots[1].restorable).to.equal(true)
    const shorter = snapshotsOf({...info, archive: {min: info.archive!.min, max: '000000020000000000000005'}})
    expect(shorter.map((s) => s.restorable)).to.deep.equal([true, false])
    const trimmed = snapshotsOf({...info, archive: {min: '000000010000000000000005', max: info.archive!.max}})
    expect(trimmed.map((s) => s.restorable)).to.deep.equal([false, true])
    expect(snapshotsOf({...info, archive: undefined}).every((s) => !s.restorable)).to.equal(true)
    // Seen: a backup at segment 7 of timeline 1, after a restore branched timeline 2 off at segment 5.
    const branched: RepoInfo = {
      status: 'ok',
      backups: [
        named('L7', 1, 'late', '1', {
          archiveStart: '000000010000000000000007',
          archiveStop: '000000010000000000000007',
        }),
      ],
      archive: {min: '000000010000000000000002', max: '000000020000000000000006'},
    }
    expect(snapshotsOf(branched)[0].restorable).to.equal(true)
  })

  it('parses the major version and annotations from pgbackrest info --output=json', () => {
    const json = JSON.stringify([
      {
        name: 'visits',
        status: {code: 0},
        db: [{id: 1, version: '17'}],
        archive: [{min: '000000010000000000000002', max: '000000010000000000000007'}],
        backup: [
          {
            label: 'L1',
            type: 'full',
            timestamp: {start: 1, stop: 2},
            archive: {start: '000000010000000000000004', stop: '000000010000000000000004'},
            database: {id: 1},
            annotation: {'stackctl-name': 'n1', 'stackctl-visits': '7'},
          },
        ],
      },
    ])
    const [snapshot] = snapshotsOf(parseRepoInfo(json))
    expect(snapshot).to.include({name: 'n1', pgMajor: 17, restorable: true})
  })

  it('renders the list as a table with one row per snapshot', () => {
    const lines = snapshotTable(snapshotsOf(info))
    expect(lines).to.have.length(3)
    expect(lines[0].split(/\s{2,}/)).to.deep.equal([
      'NAME',
      'TAKEN (UTC)',
      'SIZE',
      'VISITS',
      'PG',
      'TYPE',
      'RESTORABLE',
    ])
    expect(lines[1].split(/\s{2,}/)).to.deep.equal([
      'first',
      '2026-12-06 18:01:00',
      '6.1 MB',
      '3000',
      '17',
      'full',
      'yes',
    ])
    expect(lines[2].split(/\s{2,}/)[3]).to.equal('5000-5003')
    const gone = snapshotTable(
      snapshotsOf({...info, archive: {min: info.archive!.min, max: '000000010000000000000003'}}),
    )
    expect(gone[1]).to.match(/no: its WAL is not in the archive$/)
  })

  it('picks a snapshot by name or the newest, and refuses a missing one or an ambiguous ask', () => {
    const snapshots = snapshotsOf(info)
    expect(pickSnapshot(snapshots, {name: 'first'}).label).to.equal('20261206-100100F')
    expect(pickSnapshot(snapshots, {latest: true}).name).to.equal('second')
    expect(() => pickSnapshot(snapshots, {name: 'third'})).to.throw(UsageError, "no snapshot named 'third'")
    expect(() => pickSnapshot([], {latest: true})).to.throw(UsageError, 'no snapshot')
    expect(() => pickSnapshot(snapshots, {})).to.throw(UsageError)
    expect(() => pickSnapshot(snapshots, {name: 'first', latest: true})).to.throw(UsageError)
  })

  it('refuses to delete the only full backup, and only that', () => {
    const [first, second] = snapshotsOf(info)
    expect(deleteRefusal(first, info)).to.equal(undefined)
    const alone: RepoInfo = {...info, backups: [info.backups[1]]}
    expect(deleteRefusal(first, alone)).to.match(/only full backup/)
    // A diff beside its full: the full is still the only full.
    const withDiff: RepoInfo = {...info, backups: [info.backups[1], {...info.backups[2], type: 'diff'}]}
    expect(deleteRefusal(first, withDiff)).to.match(/only full backup/)
    expect(deleteRefusal({...second, type: 'diff'}, withDiff)).to.equal(undefined)
  })
})

describe('snapshot restore: the backup set as a recovery target', () => {
  const target = snapshotTarget(snapshotsOf(info)[0])

  it('restores that very set to its consistency point', () => {
    expect(chooseBackup(target, info)).to.deep.equal({backup: info.backups[1]})
    expect(restoreOptions(target, info.backups[1])).to.deep.equal([
      '--set=20261206-100100F',
      '--type=immediate',
      '--target-action=promote',
    ])
    expect(chooseBackup({...target, label: 'gone'}, info))
      .to.have.property('refused')
      .that.match(/no longer/)
  })

  it('is proven by the consistency line and the recorded visits, and tells snapshots apart', () => {
    const seen: RecoveryObservation = {
      inRecovery: false,
      timeline: 2,
      backupTimeline: 1,
      log: 'LOG:  recovery stopping after reaching consistency\nLOG:  selected new timeline ID: 2',
      visits: 3000,
      counter: 3000,
      newestVisitAt: null,
      maxVisitId: 3000,
      branchLsn: '0/4000100',
    }
    expect(proofFailures(target, seen)).to.deep.equal([])
    // Negative controls: the other snapshot's count, no consistency line, a range the count is outside.
    expect(proofFailures(target, {...seen, visits: 5000, counter: 5000})).to.deep.equal([
      '5000 visits were restored but the snapshot recorded 3000',
    ])
    expect(proofFailures(target, {...seen, log: 'LOG:  redo done'})).to.have.length(2)
    // Seen on a real restore: the history file's switch point is the backup's lsn stop, to the byte.
    expect(proofFailures(target, {...seen, branchLsn: '0/4000158'})).to.deep.equal([
      "recovery ended at 0/4000158, not at the backup's consistency point 0/4000100",
    ])
    const {branchLsn: _unknown, ...noHistory} = seen
    expect(proofFailures(target, noHistory)).to.have.length(1)
    const ranged = snapshotTarget(snapshotsOf(info)[1])
    expect(proofFailures(ranged, {...seen, visits: 5002, counter: 5002})).to.deep.equal([])
    expect(proofFailures(ranged, {...seen, visits: 5004, counter: 5004})).to.have.length(1)
  })
})
