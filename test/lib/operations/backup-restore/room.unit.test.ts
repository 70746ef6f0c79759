import {expect} from 'chai'

import {StackctlError} from '../../../../src/lib/errors.js'
import type {Psql} from '../../../../src/lib/operations/backup-restore/database.js'
import {restoreFailure} from '../../../../src/lib/operations/backup-restore/restore.js'
import {
  assertRoom,
  DEFAULT_BYTES_PER_ROW,
  DUMP_EXPANSION,
  estimateRoom,
  MIN_RESERVE_BYTES,
  roomProblem,
  watchFreeSpace,
  type RoomFacts,
} from '../../../../src/lib/operations/backup-restore/room.js'
import type {Engine, ExecResult} from '../../../../src/lib/engine/engine.js'
import type {StackContext} from '../../../../src/lib/stack/context.js'

const MiB = 1024 * 1024
const facts = (over: Partial<RoomFacts> = {}): RoomFacts => ({
  freeBytes: 1024 * MiB,
  templateBytes: 7 * MiB,
  liveRows: 100_000,
  liveTableBytes: 100_000 * 60,
  walSegmentBytes: 16 * MiB,
  ...over,
})

describe('volume restore room', () => {
  describe('estimateRoom', () => {
    it("sizes the copy from the record's visits and the live table's bytes per row, with a margin, WAL and a reserve", () => {
      const e = estimateRoom(facts(), {rows: 300_000, dumpBytes: 1})
      const data = Math.ceil(300_000 * 60 * 1.25)
      expect(e.restoredBytes).to.equal(7 * MiB + data)
      expect(e.walBytes).to.equal(e.restoredBytes)
      expect(e.reserveBytes).to.equal(MIN_RESERVE_BYTES)
      expect(e.neededBytes).to.equal(2 * (7 * MiB + data) + MIN_RESERVE_BYTES)
      expect(e.basis).to.equal('300000 visits × 60 bytes (as stored now) + 25%')
    })

    it('uses a typical visit when the live table is too small to measure by', () => {
      for (const over of [
        {liveRows: 5, liveTableBytes: 16_384 * 3},
        {liveRows: null, liveTableBytes: null},
      ]) {
        const e = estimateRoom(facts(over), {rows: 1000, dumpBytes: 1})
        expect(e.restoredBytes).to.equal(7 * MiB + Math.ceil(1000 * DEFAULT_BYTES_PER_ROW * 1.25))
        expect(e.basis).to.include('a typical visit')
      }
    })

    it("without a record's count, expands the dump's size", () => {
      const e = estimateRoom(facts(), {rows: null, dumpBytes: 2 * MiB})
      expect(e.restoredBytes).to.equal(7 * MiB + 2 * MiB * DUMP_EXPANSION)
      expect(e.basis).to.match(/the dump's 2\.00 MiB × \d+ \(no record counts its visits\)/)
    })

    it('keeps a larger reserve for larger WAL segments', () => {
      expect(estimateRoom(facts({walSegmentBytes: 64 * MiB}), {rows: 0, dumpBytes: 0}).reserveBytes).to.equal(256 * MiB)
    })
  })

  describe('roomProblem', () => {
    it('refuses with exit 2 and the numbers (needed, free, reserve) when the copy does not fit, and only then', () => {
      const tight = estimateRoom(facts({freeBytes: 4 * MiB}), {rows: 300_000, dumpBytes: 1})
      const refusal = roomProblem(tight, 'demo_postgres_data')
      expect(refusal).to.be.instanceOf(StackctlError)
      expect(refusal!.exitCode).to.equal(2)
      expect(refusal!.message).to.match(
        /^not enough space in volume demo_postgres_data to restore: it needs about [\d.]+ MiB \(the restored copy [\d.]+ MiB \[300000 visits × 60 bytes \(as stored now\) \+ 25%\], its WAL [\d.]+ MiB, a reserve of 64\.0 MiB kept free for the live database\), 4\.00 MiB is free$/,
      )
      expect(refusal!.suggestion).to.match(/make room .*; the current data was not changed$/)
      expect(refusal!.suggestion).not.to.match(/delete|remove|docker volume rm/i)
      // Negative control: exactly enough room is no problem.
      expect(roomProblem({...tight, freeBytes: tight.neededBytes}, 'v')).to.equal(null)
      expect(roomProblem({...tight, freeBytes: tight.neededBytes - 1}, 'v')).to.be.instanceOf(StackctlError)
    })
  })

  describe('assertRoom (stubbed engine and psql)', () => {
    function stubs(free: string, factsRow: string) {
      const execs: string[][] = []
      const engine = {
        containers: {
          exec: async (_id: string, cmd: string[]): Promise<ExecResult> => {
            execs.push(cmd)
            return {exitCode: 0, stdout: free, stderr: ''} as ExecResult
          },
        },
      } as unknown as Engine
      const psql = {containerId: 'db1', query: async () => factsRow} as unknown as Psql
      const progress: string[] = []
      const ctx = {engine, progress: (line: string) => progress.push(line)} as unknown as StackContext
      return {ctx, psql, execs, progress}
    }
    const row = `/var/lib/postgresql/data|${7 * MiB}|${16 * MiB}|${100_000 * 60}|99000`

    it('reads free space with df on the data directory inside the db container and refuses a restore that does not fit', async () => {
      const {ctx, psql, execs} = stubs(`   Avail\n${4 * MiB}\n`, row)
      const error = await assertRoom(ctx, psql, {
        volume: 'v',
        visitsBefore: 100_000,
        rows: 300_000,
        dumpBytes: 1,
      }).catch((e: unknown) => e)
      expect(execs).to.deep.equal([['df', '-B1', '--output=avail', '/var/lib/postgresql/data']])
      expect(error).to.be.instanceOf(StackctlError).and.include({exitCode: 2})
      expect((error as Error).message).to.include('4.00 MiB is free')
    })

    it('passes a restore that fits and says how much it needs', async () => {
      const {ctx, psql, progress} = stubs(`Avail\n${10_000 * MiB}\n`, row)
      const room = await assertRoom(ctx, psql, {volume: 'v', visitsBefore: 100_000, rows: 300_000, dumpBytes: 1})
      expect(room.dataDirectory).to.equal('/var/lib/postgresql/data')
      expect(room.freeBytes).to.equal(10_000 * MiB)
      expect(progress).to.have.length(1)
      expect(progress[0]).to.match(/^restore: room: about [\d.]+ MiB needed with the reserve, 9\.77 GiB free$/)
    })

    it('uses the exact live count when it has one, the planner estimate otherwise', async () => {
      const {ctx, psql} = stubs(`Avail\n${10_000 * MiB}\n`, `/d|${7 * MiB}|${16 * MiB}|${2_000 * 60}|1000`)
      const exact = await assertRoom(ctx, psql, {volume: 'v', visitsBefore: 2_000, rows: 10, dumpBytes: 1})
      expect(exact.basis).to.include('× 60 bytes')
      const estimated = await assertRoom(ctx, psql, {volume: 'v', visitsBefore: null, rows: 10, dumpBytes: 1})
      expect(estimated.basis).to.include('× 120 bytes')
    })

    it('fails clearly when df answers nothing usable', async () => {
      const {ctx, psql} = stubs('df: no such file\n', row)
      const error = await assertRoom(ctx, psql, {volume: 'v', visitsBefore: 1, rows: 1, dumpBytes: 1}).catch(
        (e: unknown) => e,
      )
      expect((error as Error).message).to.match(/^cannot tell the free space in the db container/)
    })
  })

  describe('watchFreeSpace', () => {
    it('calls onLow once, with the first reading under the reserve, and stops reading', async () => {
      const readings = [500, 300, 90, 10, 5]
      let reads = 0
      const lows: number[] = []
      const watch = watchFreeSpace(
        async () => readings[reads++],
        100,
        async (free) => {
          lows.push(free)
        },
      )
      while (lows.length === 0) await new Promise((resolve) => setTimeout(resolve, 20))
      await watch.stop()
      expect(lows).to.deep.equal([90])
      expect(watch.low()).to.equal(90)
      expect(reads).to.equal(3)
    })

    it('never fires while there is room, and ends at once when stopped; failed readings are skipped', async () => {
      let reads = 0
      const watch = watchFreeSpace(
        async () => {
          reads++
          if (reads === 1) throw new Error('exec failed')
          return 1000
        },
        100,
        async () => {
          throw new Error('must not be called')
        },
      )
      while (reads < 2) await new Promise((resolve) => setTimeout(resolve, 20))
      await watch.stop()
      expect(watch.low()).to.equal(undefined)
    })
  })

  describe('restoreFailure', () => {
    const room = {reserveBytes: 64 * MiB, freeBytes: 90 * MiB}

    it('names running out of space, from the watch or from pg_restore, instead of a broken file', () => {
      const watched = restoreFailure('/b.dump', 'pg_restore: error: could not execute query', 60 * MiB, room)
      expect(watched.message).to.match(
        /^the volume ran out of space during the restore: 60\.0 MiB free, under the reserve of 64\.0 MiB kept for the live database \(90\.0 MiB was free before\), so the restore was stopped/,
      )
      const said = restoreFailure(
        '/b.dump',
        'pg_restore: error: could not extend file "base/1/2": No space left on device',
        undefined,
        room,
      )
      expect(said.message).to.match(/^the volume ran out of space during the restore: .*No space left on device/)
      for (const error of [watched, said]) {
        expect(error.suggestion).to.match(/^make room/)
        expect(error.suggestion).not.to.match(/truncated|corrupted/)
      }
      // Negative control: any other failure is the file's.
      const broken = restoreFailure('/b.dump', 'pg_restore: error: unexpected end of file', undefined, room)
      expect(broken.message).to.match(/^\/b\.dump could not be restored: /)
      expect(broken.suggestion).to.match(/truncated, corrupted/)
    })
  })
})
