import {expect} from 'chai'

import type {Engine, ExecResult} from '../../../../src/lib/engine/engine.js'
import {Interrupted, StackctlError} from '../../../../src/lib/errors.js'
import {parseRepoInfo, type RepoBackup, type RepoInfo} from '../../../../src/lib/operations/protect/pgbackrest.js'
import {
  backupForPoint,
  chooseBackup,
  parseRecoveryTarget,
  restoreOptions,
  type RecoveryTarget,
} from '../../../../src/lib/operations/protect/recovery.js'
import {
  makeRestorePoint,
  parsePointRecord,
  restorePointLine,
  restorePointName,
} from '../../../../src/lib/operations/protect/restore-point.js'
import type {StackContext} from '../../../../src/lib/stack/context.js'

/** A backup on `timeline` that ended at `lsnStop`. */
const backup = (label: string, timeline: number, lsnStop: string): RepoBackup => {
  const segment = `${timeline.toString(16).padStart(8, '0').toUpperCase()}0000000000000002`
  return {label, type: 'full', start: 1, stop: 2, archiveStart: segment, archiveStop: segment, lsnStop, repoSize: 1}
}

describe('restore points before a command that replaces data', () => {
  const at = new Date('2026-12-06T23:15:00.123Z')

  it('names a point by its command and UTC second, valid for --to-name, and unique among those taken', () => {
    const name = restorePointName('snapshot restore', at)
    expect(name).to.equal('before-snapshot-restore-20261206T231500Z')
    expect(restorePointName('down --volumes', at)).to.equal('before-down-volumes-20261206T231500Z')
    // The name passes db restore's own check, as the printed command passes it on.
    expect(parseRecoveryTarget({'to-name': name})).to.deep.equal({kind: 'name', name})
    expect(restorePointName('down --volumes', at).length).to.be.at.most(63)
    const taken = new Set([name, `${name}-2`])
    expect(restorePointName('snapshot restore', at, taken)).to.equal(`${name}-3`)
  })

  it('prints one line naming the point and the command that returns there', () => {
    const line = restorePointLine({
      name: 'before-db-restore-20261206T231500Z',
      lsn: '0/5000090',
      timeline: 2,
      at: at.toISOString(),
      before: 'db restore',
      returnCommand: 'stackctl db restore --to-name before-db-restore-20261206T231500Z --dir /s --project-name p',
    })
    expect(line).to.equal(
      'restore point before-db-restore-20261206T231500Z (stackctl db restore --to-name before-db-restore-20261206T231500Z --dir /s --project-name p returns here)',
    )
  })

  it('reads a record back, and nothing from a damaged one', () => {
    const record = {name: 'n', lsn: '0/5000090', timeline: 3, at: at.toISOString(), before: 'volume restore'}
    expect(parsePointRecord(JSON.stringify(record))).to.deep.equal(record)
    expect(parsePointRecord('{"name":"n","lsn":"0/1"')).to.equal(undefined)
    expect(parsePointRecord('{"name":"n"}')).to.equal(undefined)
  })
})

describe('restoring to a recorded point on an earlier timeline', () => {
  // Timeline 1 had backups b1 and b2; a snapshot restore of b1 branched timeline 2 off at b1's end (0/3000000);
  // b3 was taken on timeline 2. A point made on timeline 1 after b2 (0/6000000) is on neither b3's history nor
  // the newest timeline's.
  const b1 = backup('b1', 1, '0/3000000')
  const b2 = backup('b2', 1, '0/5000100')
  const b3 = backup('b3', 2, '0/7000100')
  const info: RepoInfo = {
    status: 'ok',
    backups: [b1, b2, b3],
    archive: {min: '000000010000000000000002', max: '000000020000000000000009'},
  }
  const historyOf2 = [{timeline: 1, endLsn: 0x3000000n}]

  it('starts from the newest backup on the point timeline’s history that ended before it', () => {
    expect(backupForPoint({timeline: 1, lsn: '0/6000000'}, info.backups, undefined)).to.equal(b2)
    // On timeline 2: b2 is past where timeline 1 branched, so b1 (its parent's part) or b3 (its own).
    expect(backupForPoint({timeline: 2, lsn: '0/8000000'}, info.backups, historyOf2)).to.equal(b3)
    expect(backupForPoint({timeline: 2, lsn: '0/6000000'}, info.backups, historyOf2)).to.equal(b1)
    // Without timeline 2's history only its own backups are known to be on its path.
    expect(backupForPoint({timeline: 2, lsn: '0/6000000'}, info.backups, undefined)).to.equal(undefined)
    // Negative control: the newest backup (what a name without a record restores from) is b3, not b2.
    expect(chooseBackup({kind: 'name', name: 'p'}, info)).to.deep.equal({backup: b3})
  })

  it('follows the point’s own timeline; a name without a record keeps the default (the newest)', () => {
    const recorded: RecoveryTarget = {kind: 'name', name: 'p', point: {timeline: 1, lsn: '0/6000000'}}
    const choice = chooseBackup(recorded, info)
    expect(choice).to.deep.equal({backup: b2})
    expect(restoreOptions(recorded, b2)).to.deep.equal([
      '--set=b2',
      '--type=name',
      '--target=p',
      '--target-timeline=1',
      '--target-action=promote',
    ])
    expect(restoreOptions({kind: 'name', name: 'p'}, b3).some((o) => o.startsWith('--target-timeline'))).to.equal(false)
  })

  it('refuses a recorded point that no backup reaches, with the range', () => {
    const early: RecoveryTarget = {kind: 'name', name: 'p', point: {timeline: 1, lsn: '0/2000000'}}
    const choice = chooseBackup(early, info)
    expect(choice)
      .to.have.property('refused')
      .that.matches(/on timeline 1 at LSN 0\/2000000, where no backup/)
  })
})

const SYSTEM_ID = '7716331308641533984'
const infoJson = (systemId: string) =>
  `[{"name":"visits","status":{"code":0},"backup":[],"db":[{"id":1,"system-id":${systemId},"version":"17"}]}]`

/** A stack whose db answers as `answers` say; every exec's words are kept in `calls`. */
function stubStack(answers: {archived?: string; running?: string; create?: 'fails'; walArchive?: boolean}) {
  const calls: string[] = []
  const progress: string[] = []
  const ok = (stdout: string): ExecResult => ({exitCode: 0, stdout, stderr: '', truncated: false})
  const engine = {
    volumes: {inspect: async () => ({name: 'p_backups', labels: {}})},
    containers: {
      list: async () => [{id: 'db1', labels: {}}],
      async exec(_id: string, args: string[]): Promise<ExecResult> {
        const text = args.join(' ')
        calls.push(text)
        if (text.includes('SHOW archive_mode')) return ok('on')
        if (text.includes('--output=json info')) return ok(infoJson(SYSTEM_ID))
        if (text.includes('pg_control_system')) return ok(answers.running ?? SYSTEM_ID)
        if (text.includes('ls -1')) return {exitCode: 2, stdout: '', stderr: 'No such file', truncated: false}
        if (text.includes('pg_create_restore_point')) {
          return answers.create === 'fails'
            ? {exitCode: 1, stdout: '', stderr: 'ERROR:  WAL level not sufficient', truncated: false}
            : ok('0/5000090|000000020000000000000005')
        }
        if (text.includes('pg_switch_wal')) return ok('0/5000108')
        if (text.includes('pg_stat_archiver')) return ok(answers.archived ?? '000000020000000000000005||')
        return ok('')
      },
    },
  }
  const ctx = {
    config: {project: 'p', dir: '/stacks/p', walArchive: answers.walArchive ?? true, timeoutSeconds: 1},
    engine: engine as unknown as Engine,
    progress: (line: string) => progress.push(line),
  } as unknown as StackContext
  return {ctx, calls, progress}
}

describe('making the restore point (stubbed db)', () => {
  it('writes the point, waits for its segment in the archive, records it and says so', async () => {
    const {ctx, calls, progress} = stubStack({})
    const point = await makeRestorePoint(ctx, 'snapshot restore')
    expect(point).to.include({lsn: '0/5000090', timeline: 2, before: 'snapshot restore'})
    expect(point!.name).to.match(/^before-snapshot-restore-\d{8}T\d{6}Z$/)
    expect(point!.returnCommand).to.equal(
      `stackctl db restore --to-name ${point!.name} --dir /stacks/p --project-name p`,
    )
    const order = ['pg_create_restore_point', 'pg_switch_wal', 'pg_stat_archiver', 'mv "$1/.$2.tmp"']
    expect(order.map((word) => calls.findIndex((call) => call.includes(word)))).to.satisfy((at: number[]) =>
      at.every((index, i) => index >= 0 && (i === 0 || index > at[i - 1])),
    )
    expect(progress).to.deep.equal([restorePointLine(point!)])
  })

  it("makes none on a stack that does not archive, or whose running db is not the archive's cluster", async () => {
    const plain = stubStack({walArchive: false})
    expect(await makeRestorePoint(plain.ctx, 'down --volumes')).to.equal(null)
    expect(plain.calls).to.deep.equal([])
    const fresh = stubStack({running: '7716331308641533000'})
    expect(await makeRestorePoint(fresh.ctx, 'db restore')).to.equal(null)
    expect(fresh.calls.some((call) => call.includes('pg_create_restore_point'))).to.equal(false)
    expect(fresh.progress.join('\n')).to.match(/no restore point before db restore: the running db .* not the cluster/)
  })

  it('stops the command when the point cannot be made, or its segment is not archived in time', async () => {
    const failing = stubStack({create: 'fails'})
    const error = await makeRestorePoint(failing.ctx, 'volume restore').catch((e: unknown) => e)
    expect(error).to.be.instanceOf(StackctlError)
    expect((error as StackctlError).message).to.match(
      /^volume restore stopped before it changed any data: no restore point could be made: .*WAL level not sufficient/,
    )
    const behind = stubStack({archived: '000000020000000000000004|000000020000000000000005|2026-12-06 23:00:00+00'})
    const late = await makeRestorePoint(behind.ctx, 'volume restore').catch((e: unknown) => e)
    expect((late as StackctlError).message).to.match(
      /its WAL segment 000000020000000000000005 did not reach the archive within 1 s \(the last failed archive attempt: 000000020000000000000005/,
    )
    expect(behind.calls.some((call) => call.includes('stackctl-restore-points/'))).to.equal(false)
  })

  it('Ctrl-C while waiting for the archive: exit 130, saying the point is in the WAL and nothing else was done', async () => {
    const {ctx, calls} = stubStack({archived: '000000020000000000000004||'})
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 100)
    const error = await makeRestorePoint(ctx, 'snapshot restore', controller.signal).catch((e: unknown) => e)
    expect(error).to.be.instanceOf(Interrupted)
    expect((error as Interrupted).exitCode).to.equal(130)
    expect((error as Interrupted).message).to.match(
      /^interrupted: snapshot restore stopped while its restore point was made: before-snapshot-restore-\S+ is in the WAL, its archiving not awaited; nothing else was done$/,
    )
    expect(calls.some((call) => call.includes('mv '))).to.equal(false)
  })

  it("reads the repository cluster's system identifier without losing digits", () => {
    expect(parseRepoInfo(infoJson(SYSTEM_ID)).systemId).to.equal(SYSTEM_ID)
    // Negative control: as a JSON number it comes back changed.
    expect(
      String((JSON.parse(infoJson(SYSTEM_ID)) as Array<{db: Array<{'system-id': number}>}>)[0].db[0]['system-id']),
    ).to.not.equal(SYSTEM_ID)
  })
})
