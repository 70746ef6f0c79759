import {expect} from 'chai'

import {StackctlError, UsageError} from '../../../../src/lib/errors.js'
import {parseRepoInfo} from '../../../../src/lib/operations/protect/pgbackrest.js'
import {
  estimateRestoreRoom,
  restoreHint,
  restoreRoomProblem,
  restoreVolumeDriver,
  segmentNumber,
  segmentsBetween,
  stoppedForRoom,
  type RestoreRoomFacts,
} from '../../../../src/lib/operations/protect/restore-room.js'

const MiB = 1024 * 1024
const facts: RestoreRoomFacts = {
  freeBytes: 10_000 * MiB,
  backupBytes: 200 * MiB,
  liveBytes: 150 * MiB,
  walSegments: 3,
  walSegmentBytes: 16 * MiB,
  maxWalBytes: 1024 * MiB,
  minWalBytes: 80 * MiB,
}
const config = {dir: '/srv/my stack', project: 'shop'}

describe('restore room: the estimate before a point-in-time restore', () => {
  it('needs the backup, the WAL the replay keeps and the live reserve', () => {
    const e = estimateRestoreRoom(facts)
    // 3 segments replayed, but min_wal_size (80 MiB) keeps 5 recycled ones and the current: 6.
    expect(e).to.include({dataBytes: 200 * MiB, dataBasis: 'backup', walBytes: 96 * MiB, reserveBytes: 64 * MiB})
    expect(e.neededBytes).to.equal((200 + 96 + 64) * MiB)
    expect(restoreRoomProblem(e, 'v2', 'stackctl db restore --latest')).to.equal(null)
  })

  it("takes the live cluster's size when it is larger: the replay rebuilds what was written since the backup", () => {
    const e = estimateRestoreRoom({...facts, liveBytes: 900 * MiB})
    expect(e).to.include({dataBytes: 900 * MiB, dataBasis: 'live'})
    // Control: without a live server (the data volume was lost) the backup's size is all there is.
    expect(estimateRestoreRoom({...facts, liveBytes: null})).to.include({dataBytes: 200 * MiB, dataBasis: 'backup'})
  })

  it('counts the WAL the replay keeps: its segments and two more, at least min_wal_size, at most max_wal_size', () => {
    expect(estimateRestoreRoom({...facts, walSegments: 10_000}).walBytes).to.equal((1024 + 32) * MiB)
    expect(estimateRestoreRoom({...facts, walSegments: 20}).walBytes).to.equal(22 * 16 * MiB)
    expect(estimateRestoreRoom({...facts, walSegments: 0}).walBytes).to.equal(96 * MiB)
    expect(estimateRestoreRoom({...facts, walSegments: 3, minWalBytes: 0}).walBytes).to.equal(5 * 16 * MiB)
  })

  it('refuses with the numbers when the free space is one byte short, exit 2, with a hint that repeats the command', () => {
    const fits = estimateRestoreRoom({...facts, freeBytes: (200 + 96 + 64) * MiB})
    expect(restoreRoomProblem(fits, 'shop_postgres_data_pg17', 'x')).to.equal(null)
    const short = estimateRestoreRoom({...facts, freeBytes: (200 + 96 + 64) * MiB - 1})
    const hint = restoreHint(config, 'db restore', {kind: 'name', name: "it's"})
    const error = restoreRoomProblem(short, 'shop_postgres_data_pg17', hint)
    expect(error).to.be.instanceOf(StackctlError)
    expect(error!.exitCode).to.equal(2)
    expect(error!.message).to.match(/shop_postgres_data_pg17 has 360\.0 MiB free, the restore needs about 360\.0 MiB/)
    expect(error!.message).to.match(/the data 200\.0 MiB \[the backup's size\].*WAL .* 96\.0 MiB.*reserve of 64\.0 MiB/)
    expect(error!.suggestion).to.include(
      `stackctl db restore --dir '/srv/my stack' --project-name shop --to-name 'it'\\''s' --volume-opt type=none --volume-opt o=bind --volume-opt device=DIR`,
    )
  })

  it('a stop by the watch says how low the free space fell, exit 2', () => {
    const error = stoppedForRoom('v2', 10 * MiB, 64 * MiB, 'stackctl snapshot restore s1')
    expect(error.message).to.equal(
      "stopped the recovery: v2's filesystem has 10.0 MiB free, under the 64.0 MiB kept for the live database",
    )
    expect(error.exitCode).to.equal(2)
  })

  it('counts WAL segments across log files (256 segments of 16 MiB each)', () => {
    expect(segmentNumber('000000010000000000000003', 16 * MiB)).to.equal(3)
    expect(segmentNumber('0000000200000001000000FF', 16 * MiB)).to.equal(256 + 255)
    expect(segmentsBetween('000000010000000000000003', '0000000200000001000000FF', 16 * MiB)).to.equal(509)
    expect(segmentsBetween('000000010000000000000003', '', 16 * MiB)).to.equal(1)
    expect(segmentNumber('000000010000000000000003.00000028.backup', 16 * MiB)).to.equal(3)
  })

  it("reads the backup's database size from pgBackRest's info", () => {
    const info = parseRepoInfo(
      JSON.stringify([
        {
          name: 'visits',
          status: {code: 0},
          backup: [
            {
              label: 'b1',
              type: 'full',
              timestamp: {start: 1, stop: 2},
              info: {size: 31_234_567, repository: {delta: 4_000_000, size: 4_000_000}},
            },
            {label: 'b2', type: 'full', timestamp: {start: 3, stop: 4}},
          ],
        },
      ]),
    )
    expect(info.backups.map((b) => b.size)).to.deep.equal([31_234_567, undefined])
    expect(info.backups[0].repoSize).to.equal(4_000_000)
  })
})

describe("restore room: the new volume's storage", () => {
  const old = {name: 'shop_postgres_data', driver: 'local', options: {type: 'none', o: 'bind', device: '/srv/pg'}}

  it("gives the new volume the old one's driver and options, or --volume-opt", () => {
    const inherited = restoreVolumeDriver(
      {name: 'v', driver: 'rexray/ebs', options: {size: '20'}},
      undefined,
      'db restore',
      'h',
    )
    expect(inherited).to.deep.equal({driver: 'rexray/ebs', options: {size: '20'}})
    const asked = restoreVolumeDriver(old, {type: 'none', o: 'bind', device: '/big/pg'}, 'db restore', 'h')
    expect(asked).to.deep.equal({driver: 'local', options: {type: 'none', o: 'bind', device: '/big/pg'}})
    expect(restoreVolumeDriver({name: 'v', driver: 'local', options: {}}, undefined, 'db restore', 'h')).to.deep.equal({
      driver: 'local',
      options: {},
    })
  })

  it("refuses a bind mount of the old volume's own directory, naming the command", () => {
    expect(() => restoreVolumeDriver(old, undefined, 'snapshot restore', 'h'))
      .to.throw(UsageError)
      .with.property('message')
      .that.matches(/both would mount \/srv\/pg \(snapshot restore gives the new volume the old one’s options\)/)
    expect(() => restoreVolumeDriver(old, undefined, 'snapshot restore', 'h'))
      .to.throw(UsageError)
      .with.property('suggestion')
      .that.includes(
        'mkdir /srv/pg-restored, then add --volume-opt type=none --volume-opt o=bind --volume-opt device=/srv/pg-restored',
      )
  })

  it('refuses a volume in memory, inherited or asked, without a --force hint (these commands have none for it)', () => {
    const tmpfs = {name: 'v', driver: 'local', options: {type: 'tmpfs', device: 'tmpfs', o: 'size=64m'}}
    for (const attempt of [
      () => restoreVolumeDriver(tmpfs, undefined, 'db restore', 'stackctl db restore --latest'),
      () => restoreVolumeDriver(old, {type: 'tmpfs', device: 'tmpfs'}, 'db restore', 'stackctl db restore --latest'),
    ]) {
      let caught: unknown
      try {
        attempt()
      } catch (error) {
        caught = error
      }
      expect(caught).to.be.instanceOf(UsageError)
      expect((caught as UsageError).message).to.match(/in memory \(tmpfs\): its files would be gone/)
      expect((caught as UsageError).suggestion).to.not.include('--force')
    }
    expect(() => restoreVolumeDriver(tmpfs, undefined, 'db restore', 'stackctl db restore --latest'))
      .to.throw(UsageError)
      .with.property('suggestion')
      .that.includes('stackctl db restore --latest --volume-opt type=none')
  })
})
