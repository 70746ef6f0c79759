import {expect} from 'chai'

import type {StackState} from '../../../../src/lib/model/stackdir/stack-files.js'
import {
  archivingCheck,
  archivingLines,
  judgeArchiving,
  parseArchiverFacts,
  type ArchiverFacts,
} from '../../../../src/lib/operations/protect/health.js'
import {parseArchiveListing} from '../../../../src/lib/operations/protect/continuity.js'
import {lastPgbackrestError, parseRepoSpace} from '../../../../src/lib/operations/protect/repo-space.js'
import {stubStack} from '../../../support/stub-context.js'

const now = 1_800_000_000_000
const healthy: ArchiverFacts = {
  archiveMode: 'on',
  archivedCount: 12,
  lastArchivedWal: '00000001000000000000000C',
  lastArchivedAt: now - 4_000,
  failedCount: 0,
  lastFailedWal: '',
  lastFailedAt: 0,
  waiting: 0,
  oldestWaitingSince: 0,
  pgWalBytes: 48 * 1024 * 1024,
  now,
  segmentBytes: 16 * 1024 * 1024,
}

describe('archiving health', () => {
  it('reads the archiver line the db answers', () => {
    expect(
      parseArchiverFacts('on|3|000000010000000000000003|1000|1|000000010000000000000002|900|0|0|50331648|5000|16MB'),
    ).to.deep.equal({
      archiveMode: 'on',
      archivedCount: 3,
      lastArchivedWal: '000000010000000000000003',
      lastArchivedAt: 1000,
      failedCount: 1,
      lastFailedWal: '000000010000000000000002',
      lastFailedAt: 900,
      waiting: 0,
      oldestWaitingSince: 0,
      pgWalBytes: 50331648,
      now: 5000,
      segmentBytes: 16 * 1024 * 1024,
    })
  })

  it('is ok when the last attempt succeeded and nothing waits past 2 × archive_timeout, even when idle', () => {
    const ok = judgeArchiving(healthy, 'demo')
    expect(ok.status).to.equal('ok')
    expect(ok.detail).to.equal(
      'last archived 00000001000000000000000C 4 s ago, 0 failed attempts, 0 waiting; pg_wal 48 MiB',
    )
    // An idle server archives nothing for a long time: not a lag while no segment waits.
    expect(judgeArchiving({...healthy, lastArchivedAt: now - 3_600_000}, 'demo').status).to.equal('ok')
    // Failures that archiving recovered from are counted, not failed on.
    expect(judgeArchiving({...healthy, failedCount: 3, lastFailedAt: now - 60_000}, 'demo').status).to.equal('ok')
    expect(judgeArchiving({...healthy, waiting: 1, oldestWaitingSince: now - 19_000}, 'demo').status).to.equal('ok')
  })

  it('fails, naming the cause and pg_wal, when the last attempt failed or a segment waits too long', () => {
    const failing = judgeArchiving(
      {...healthy, failedCount: 7, lastFailedWal: '00000001000000000000000D', lastFailedAt: now - 2_000, waiting: 3},
      'demo',
    )
    expect(failing.status).to.equal('fail')
    expect(failing.detail).to.match(
      /^archiving fails: segment 00000001000000000000000D failed 2 s ago \(7 failed attempts/,
    )
    expect(failing.detail).to.match(/pg_wal 48 MiB/)
    // Not known to be full: the log names the cause; the hint carries the stack's --dir when it needs one.
    expect(failing.fix).to.match(/^stackctl logs db shows/)
    expect(failing.detail).to.not.match(/full/)
    const elsewhere = judgeArchiving(
      {...healthy, lastFailedWal: 'X', lastFailedAt: now - 2_000, waiting: 1},
      'demo',
      {},
      (verb) => `stackctl ${verb} --dir /s`,
    )
    expect(elsewhere.fix).to.match(/^stackctl logs db --dir \/s shows/)
    const lagging = judgeArchiving({...healthy, waiting: 2, oldestWaitingSince: now - 21_000}, 'demo')
    expect(lagging.status).to.equal('fail')
    expect(lagging.detail).to.match(/^archiving lags: 2 segments wait, the oldest for 21 s \(limit 20 s\)/)
    expect(judgeArchiving({...healthy, archiveMode: 'off'}, 'demo').status).to.equal('fail')
  })

  // As the db's log shows it (a 64 MiB tmpfs repository filled up, seen on the real engine).
  const fullLog = `2026-12-06 16:57:46.536 UTC [169] LOG:  archive command failed with exit code 104
2026-12-06 16:57:47.637 P00  ERROR: [104]: archive-push command encountered error(s):
                                    repo1: [FileWriteError] unable to write '/var/lib/pgbackrest/archive/visits/17-1/0000000100000000/000000010000000000000003-aa3b.lz4.pgbackrest.tmp': [28] No space left on device
2026-12-06 16:57:47.641 UTC [169] LOG:  archive command failed with exit code 104`

  it("reads pgBackRest's last error from the db's log and the repository's space from df and du", () => {
    expect(lastPgbackrestError(fullLog)).to.equal(
      "[FileWriteError] unable to write '000000010000000000000003-aa3b.lz4.pgbackrest.tmp': [28] No space left on device",
    )
    expect(lastPgbackrestError('2026-12-06 LOG:  database system is ready')).to.equal(undefined)
    expect(lastPgbackrestError('x P00  ERROR: [055]: unable to load info file')).to.equal('unable to load info file')
    expect(parseRepoSpace('  67108864        0\n67100000\n')).to.deep.equal({
      sizeBytes: 67108864,
      freeBytes: 0,
      usedBytes: 67100000,
    })
    expect(parseRepoSpace('df: cannot read\n')).to.equal(undefined)
  })

  it('fails naming a full repository, its free space, pgBackRest’s words and how pg_wal grows, with a fix that keeps the data', () => {
    const failingFacts = {...healthy, failedCount: 3, lastFailedWal: 'S3', lastFailedAt: now - 2_000, waiting: 2}
    const space = {sizeBytes: 64 * 1024 * 1024, freeBytes: 0, usedBytes: 64 * 1024 * 1024}
    const full = judgeArchiving(failingFacts, 'demo', {space, lastError: lastPgbackrestError(fullLog)})
    expect(full.status).to.equal('fail')
    expect(full.detail).to.match(
      /^archiving fails: the backup repository is full \(volume demo_backups: 0 B free of 64\.0 MiB\), pgBackRest: \[FileWriteError\] .*No space left on device; segment S3 failed 2 s ago/,
    )
    expect(full.detail).to.match(/pg_wal 48 MiB and growing: 2 finished segments wait in it \(32 MiB\), 16 MiB more/)
    expect(full.detail).to.not.include('\n')
    expect(full.fix).to.match(/^make room on the filesystem that holds volume demo_backups/)
    expect(full.fix).to.not.match(/\b(delete|remove|rm)\b/)
    // Full by the space alone (the log rotated away), and not full when a segment still fits.
    expect(judgeArchiving(failingFacts, 'demo', {space}).detail).to.match(/repository is full/)
    const roomy = {...space, freeBytes: 32 * 1024 * 1024}
    expect(judgeArchiving(failingFacts, 'demo', {space: roomy}).detail).to.not.match(/full/)
    // The healthy case shows the repository's size and free space too.
    expect(judgeArchiving(healthy, 'demo', {space: roomy}).detail).to.match(
      /; repository 64\.0 MiB, 32\.0 MiB free of 64\.0 MiB$/,
    )
  })

  it('gives status an archive line, and the fix beneath it when there is one', () => {
    expect(archivingLines({status: 'ok', detail: 'last archived X 2 s ago', fix: null})).to.deep.equal([
      'archive  ok: last archived X 2 s ago',
    ])
    expect(archivingLines({status: 'fail', detail: 'archiving fails: …', fix: 'make room'})).to.deep.equal([
      'archive  FAILING: archiving fails: …',
      '         fix: make room',
    ])
  })

  it('reads when the server started, from a thirteenth field', () => {
    const line = 'on|0||0|0||0|0|0|50331648|5000|16MB|2000'
    expect(parseArchiverFacts(line).serverStartedAt).to.equal(2000)
    expect(parseArchiverFacts('on|0||0|0||0|0|0|50331648|5000|16MB')).to.not.have.property('serverStartedAt')
  })

  /** The repository as `find` lists it: segments 2..9 archived a second apart, one backup from segment 2. */
  function archive(skip?: string) {
    const sha = '0a78dbd85adf34455e489ed1cafcdbd6d900b6dd'
    const names = [2, 3, 4, 5, 6, 7, 8, 9].map(
      (n) => `0000000100000000000000${n.toString(16).padStart(2, '0').toUpperCase()}`,
    )
    const files = names
      .filter((name) => name !== skip)
      .map((name, i) => `file ${(now - 100_000) / 1000 + i} 17-1/${name.slice(0, 16)}/${name}-${sha}.lz4`)
    const backup =
      'backup 20261206-195554F={"backup-archive-start":"000000010000000000000002","backup-timestamp-stop":1}'
    return parseArchiveListing([...files, backup].join('\n'))
  }

  it('fails on a segment missing from the archive, naming it, where an unbroken archive passes', () => {
    const gap = judgeArchiving(
      healthy,
      'demo',
      {archive: archive('000000010000000000000005')},
      (verb) => `stackctl ${verb} -p demo`,
    )
    expect(gap.status).to.equal('fail')
    expect(gap.detail).to.match(
      /^the WAL archive has a gap: segment 000000010000000000000005 is missing: a point-in-time restore cannot reach past LSN 0\/5000000/,
    )
    expect(gap.fix).to.match(/^take a full backup now: stackctl snapshot create -p demo \(a named snapshot/)
    expect(`${gap.detail} ${gap.fix}`).to.not.match(/\b(delete|remove|rm|drop)\b/i)
    expect(judgeArchiving(healthy, 'demo', {archive: archive()}).status).to.equal('ok')
  })

  it('after a restart with nothing archived since, names the archive’s newest segment instead of "nothing archived yet"', () => {
    const restarted = {
      ...healthy,
      archivedCount: 0,
      lastArchivedWal: '',
      lastArchivedAt: 0,
      serverStartedAt: now - 30_000,
    }
    expect(judgeArchiving(restarted, 'demo', {archive: archive()}).detail).to.match(
      /^nothing archived since the server started 30 s ago; the archive's newest segment is 000000010000000000000009, archived 93 s ago, /,
    )
    // An archive that holds nothing: then nothing was archived yet, truly.
    expect(judgeArchiving(restarted, 'demo', {archive: parseArchiveListing('')}).detail).to.match(
      /^nothing archived yet, /,
    )
    expect(judgeArchiving(restarted, 'demo').detail).to.match(/^nothing archived yet, /)
  })
})

describe('archivingCheck on the official registry images (no pgBackRest)', () => {
  it('says archiving is off, truthfully, with the way to archive, instead of judging an archiver that never runs', async () => {
    const {ctx} = await stubStack({walArchive: true})
    ctx.state = {stackId: 'id', settings: {project: 'demo', pgMajor: 17, resolvedImageSource: 'registry'}} as StackState
    const check = await archivingCheck(ctx)
    expect(check?.status).to.equal('warn')
    expect(check?.detail).to.match(/^off: the official registry image the db runs has no pgBackRest/)
    expect(check?.fix).to.match(
      /^archive with the local images: stackctl up --image-source local --dir \S+ --project-name demo$/,
    )
    // Not on the local images: there the real archiver is judged (here it finds no db).
    ctx.state = {...ctx.state, settings: {...ctx.state.settings, resolvedImageSource: 'local'}}
    expect((await archivingCheck(ctx))?.detail).to.equal('not checked: the db is not running')
  })
})
