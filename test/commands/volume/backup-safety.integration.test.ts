/**
 * stackctl volume backup into a directory that runs out of room, against the real engine: a small tmpfs where
 * the dump fits and its record does not, one where the dump itself does not fit, and a read-only one. Each
 * failure is one translated line and leaves nothing behind (no dump without a record, no partial file); with
 * room, the same command then succeeds, and the stack's data and API are untouched throughout.
 */
import {expect} from 'chai'
import {execFileSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {freePort, runCli, type CliResult, NO_WAL_ARCHIVE} from '../../helpers/cli.js'
import {psqlIn, removeComposeProject, uniqueName} from '../../helpers/docker.js'

const VISITS = 100_000
const PAGE = 4096

describe('volume backup into a directory without room (integration)', function () {
  this.timeout(600_000)
  const project = `i21c-${uniqueName('bk-safety')}`
  const dir = mkdtempSync(path.join(tmpdir(), 'stackctl-bk-safety-'))
  const scratch = mkdtempSync(path.join(tmpdir(), 'stackctl-bk-safety-files-'))
  const env = {STACKCTL_IMAGE_SOURCE: 'local'}
  const stackArgs = ['--dir', dir, '--project-name', project]
  const mounts: string[] = []
  let port: number
  let checksumBefore: string
  /** Sizes of a first backup written where there is room. */
  let dumpBytes: number
  let recordBytes: number

  const cli = (...args: string[]): Promise<CliResult> => runCli([...args, ...stackArgs], {env})
  const checksum = () =>
    psqlIn(
      project,
      "SELECT count(*) || ':' || md5(string_agg(id::text || visited_at::text, ',' ORDER BY id)) FROM visits",
    )
  const pages = (bytes: number) => Math.ceil(bytes / PAGE)

  /** A fresh tmpfs of `kib` KiB (options added), unmounted in after. */
  function tmpfs(name: string, kib: number, extra = ''): string {
    const mountPoint = path.join(scratch, name)
    mkdirSync(mountPoint)
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${kib}k,mode=0755${extra}`, 'tmpfs', mountPoint])
    mounts.push(mountPoint)
    return mountPoint
  }

  /** The one error line and hint of a failed command; no raw system error anywhere in its output. */
  function oneTranslatedLine(result: CliResult): string {
    expect(result.exitCode, result.stderr).to.equal(1)
    const errors = result.stderr.split('\n').filter((line) => line.startsWith('Error:'))
    expect(errors, result.stderr).to.have.length(1)
    expect(result.stderr).to.not.match(/ENOSPC|EROFS|EDQUOT|EACCES|errno|^\s+at /m)
    expect(result.stderr).to.match(/^Hint: .+$/m)
    return errors[0]
  }

  before(async () => {
    port = await freePort()
    // This file's subject is not WAL archiving (on by default): its stacks run without it (NO_WAL_ARCHIVE).
    const up = await cli('up', NO_WAL_ARCHIVE, '--port', String(port))
    expect(up.exitCode, up.stderr).to.equal(0)
    await psqlIn(
      project,
      `INSERT INTO visits (visited_at) SELECT now() - g * interval '1 second' FROM generate_series(1, ${VISITS}) AS g; ` +
        'UPDATE visit_counter SET n = CASE WHEN shard = 0 THEN (SELECT count(*) FROM visits) ELSE 0 END',
    )
    checksumBefore = await checksum()
    expect(checksumBefore).to.match(new RegExp(`^${VISITS}:`))
    const first = path.join(scratch, 'first.dump')
    const backup = await cli('volume', 'backup', first)
    expect(backup.exitCode, backup.stderr).to.equal(0)
    dumpBytes = statSync(first).size
    recordBytes = statSync(`${first}.json`).size
    expect(JSON.parse(readFileSync(`${first}.json`, 'utf8'))).to.include({visits: VISITS})
  })

  after(async () => {
    try {
      for (const mountPoint of mounts.reverse()) {
        try {
          execFileSync('umount', [mountPoint])
        } catch {
          // already unmounted; the rm below then removes an ordinary directory
        }
      }
      await removeComposeProject(project)
    } finally {
      rmSync(dir, {recursive: true, force: true})
      rmSync(scratch, {recursive: true, force: true})
    }
  })

  it('a dump that fits without its record: one line, neither file left; with room the same command succeeds', async () => {
    // Exactly the dump's pages: the record needs one more.
    const kib = (pages(dumpBytes) * PAGE) / 1024
    const small = tmpfs('record-does-not-fit', kib)
    const target = path.join(small, 'visits.dump')
    const failed = await cli('volume', 'backup', target)
    const line = oneTranslatedLine(failed)
    expect(line).to.include(
      `could not write the backup's record ${target}.json: no space left on the device in ${small}`,
    )
    expect(line).to.match(/the [\d.]+ KiB dump fit, its record did not; [\d.]+ KiB was free when the backup started/)
    expect(failed.stderr).to.include(`neither visits.dump nor its record was left in ${small}`)
    expect(readdirSync(small)).to.deep.equal([])

    // The same command again: the name is free, not "already exists".
    const again = await cli('volume', 'backup', target)
    oneTranslatedLine(again)
    expect(again.stderr).to.not.include('already exists')
    expect(readdirSync(small)).to.deep.equal([])

    // With room for the record (negative control: the size was the only problem).
    execFileSync('mount', ['-o', `remount,size=${kib + (pages(recordBytes) * PAGE) / 1024}k`, small])
    const done = await cli('volume', 'backup', target, '--json')
    expect(done.exitCode, done.stderr).to.equal(0)
    expect(readdirSync(small).sort()).to.deep.equal(['visits.dump', 'visits.dump.json'])
    const record = JSON.parse(readFileSync(`${target}.json`, 'utf8'))
    expect(record).to.include({visits: VISITS, bytes: statSync(target).size})
  })

  it('a dump that does not fit: one line with the free space, the partial file removed', async () => {
    const kib = Math.floor((pages(dumpBytes) * PAGE) / 2 / 1024)
    const small = tmpfs('dump-does-not-fit', kib)
    const target = path.join(small, 'visits.dump')
    const line = oneTranslatedLine(await cli('volume', 'backup', target))
    expect(line).to.match(
      new RegExp(
        `^Error: could not write the backup ${target}: no space left on the device in ${small} \\([\\d.]+ KiB of the dump written; [\\d.]+ KiB was free when the backup started\\)$`,
      ),
    )
    // True numbers: what the filesystem accepted, never more than it had free.
    const [written, free] = /\(([\d.]+) KiB of the dump written; ([\d.]+) KiB was free/.exec(line)!.slice(1).map(Number)
    expect(written).to.be.greaterThan(0).and.at.most(free)
    expect(readdirSync(small)).to.deep.equal([])
  })

  it('a read-only directory: one line, nothing written', async () => {
    const readOnly = tmpfs('read-only', 1024, ',ro')
    const target = path.join(readOnly, 'visits.dump')
    const line = oneTranslatedLine(await cli('volume', 'backup', target))
    expect(line).to.equal(`Error: could not write the backup ${target}: ${readOnly} is on a read-only filesystem`)
    expect(readdirSync(readOnly)).to.deep.equal([])
  })

  it('leaves the data and the API as they were', async () => {
    expect(await checksum()).to.equal(checksumBefore)
    const response = await fetch(`http://127.0.0.1:${port}/`)
    expect(response.status).to.equal(200)
    expect(((await response.json()) as {visits: number}).visits).to.equal(VISITS + 1)
  })
})
