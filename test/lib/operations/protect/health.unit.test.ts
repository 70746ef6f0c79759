import {expect} from 'chai'

import {judgeArchiving, parseArchiverFacts, type ArchiverFacts} from '../../../../src/lib/operations/protect/health.js'

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
}

describe('archiving health', () => {
  it('reads the archiver line the db answers', () => {
    expect(
      parseArchiverFacts('on|3|000000010000000000000003|1000|1|000000010000000000000002|900|0|0|50331648|5000'),
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
    expect(failing.fix).to.match(/demo_backups/)
    const lagging = judgeArchiving({...healthy, waiting: 2, oldestWaitingSince: now - 21_000}, 'demo')
    expect(lagging.status).to.equal('fail')
    expect(lagging.detail).to.match(/^archiving lags: 2 segments wait, the oldest for 21 s \(limit 20 s\)/)
    expect(judgeArchiving({...healthy, archiveMode: 'off'}, 'demo').status).to.equal('fail')
  })
})
