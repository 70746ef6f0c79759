import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {pipeline} from 'node:stream/promises'
import {Readable} from 'node:stream'

import {StackctlError, UsageError} from '../../../../src/lib/errors.js'
import {
  PartialFile,
  partialName,
  partialOwner,
  prepareTarget,
  publishWithRecord,
  removeStalePartials,
  writeFailure,
} from '../../../../src/lib/operations/backup-restore/backup-file.js'

/** A pid that belonged to a process which has ended. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid!
}

describe('backup files', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'stackctl-backup-file-'))
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  it('names partial files per run and reads the owner back only for the same target', () => {
    const target = path.join(dir, 'a.dump')
    const partial = partialName(target, 123, '0a1b2c3d')
    expect(partial).to.equal(path.join(dir, '.a.dump.123-0a1b2c3d.partial'))
    expect(partialOwner(target, path.basename(partial))).to.equal(123)
    expect(partialOwner(path.join(dir, 'b.dump'), path.basename(partial))).to.equal(undefined)
    expect(partialOwner(target, '.a.dump.123-0a1b2c3d.partial.keep')).to.equal(undefined)
    expect(partialOwner(target, 'a.dump')).to.equal(undefined)
  })

  it('refuses an existing target, a symbolic link (even a dangling one) and a file as directory', async () => {
    const existing = path.join(dir, 'exists.dump')
    writeFileSync(existing, 'x')
    const link = path.join(dir, 'link.dump')
    symlinkSync(path.join(dir, 'nowhere'), link)
    const refusal = (target: string) => prepareTarget(target, {stackDirectory: false}).catch((e: unknown) => e)
    expect(await refusal(existing))
      .to.be.instanceOf(UsageError)
      .and.match(/already exists/)
    const linked = await refusal(link)
    expect(linked)
      .to.be.instanceOf(UsageError)
      .and.match(/is a symbolic link/)
    expect(existsSync(path.join(dir, 'nowhere'))).to.equal(false)
    expect(await refusal(path.join(existing, 'x.dump')))
      .to.be.instanceOf(UsageError)
      .and.match(/is not a directory/)
    // A record without its dump holds the name too: the backup could not give the record its name.
    writeFileSync(path.join(dir, 'orphan.dump.json'), '{}')
    expect(await refusal(path.join(dir, 'orphan.dump')))
      .to.be.instanceOf(UsageError)
      .and.match(/orphan\.dump\.json already exists/)
    // Negative control: a free name in a new directory is accepted, and the directory made.
    await prepareTarget(path.join(dir, 'new', 'ok.dump'), {stackDirectory: false})
    expect(existsSync(path.join(dir, 'new'))).to.equal(true)
  })

  it('refuses a backups directory in the stack directory that is a link', async () => {
    const elsewhere = path.join(dir, 'elsewhere')
    mkdirSync(elsewhere)
    symlinkSync(elsewhere, path.join(dir, 'backups'))
    const error = await prepareTarget(path.join(dir, 'backups', 'x.dump'), {stackDirectory: true}).catch(
      (e: unknown) => e,
    )
    expect(String(error)).to.match(/symbolic link/)
    await prepareTarget(path.join(dir, 'backups', 'x.dump'), {stackDirectory: false}) // the user's own choice
  })

  it('writes through a partial file and links it into place, never over an existing file', async () => {
    const target = path.join(dir, 'a.dump')
    const partial = await PartialFile.create(target)
    await pipeline(Readable.from([Buffer.from('PGDMP'), Buffer.from('...')]), partial.stream())
    await partial.commit()
    expect(readFileSync(target, 'utf8')).to.equal('PGDMP...')
    expect(readdirSync(dir)).to.deep.equal(['a.dump'])

    const second = await PartialFile.create(target)
    await pipeline(Readable.from([Buffer.from('other')]), second.stream())
    const error = await second.commit().catch((e: unknown) => e)
    expect(error)
      .to.be.instanceOf(UsageError)
      .and.match(/appeared while the backup ran/)
    expect(readFileSync(target, 'utf8')).to.equal('PGDMP...')
    expect(await second.discard()).to.equal(true)
    expect(readdirSync(dir)).to.deep.equal(['a.dump'])
  })

  it('never opens a partial file through a planted link', async () => {
    const target = path.join(dir, 'a.dump')
    const victim = path.join(dir, 'victim')
    symlinkSync(victim, partialName(target, process.pid, 'deadbeef'))
    const error = await PartialFile.create(target, 'deadbeef').catch((e: unknown) => e)
    expect(error).to.have.property('code', 'EEXIST')
    expect(existsSync(victim)).to.equal(false)
    // Negative control: the same call with a free name creates the file.
    const free = await PartialFile.create(target, 'feedbeef')
    expect(existsSync(free.path)).to.equal(true)
    await free.discard()
  })

  it('removes partial files of dead runs for the same target, and only those', async () => {
    const target = path.join(dir, 'a.dump')
    const dead = partialName(target, deadPid(), '00000000')
    const alive = partialName(target, process.pid, '11111111')
    const otherTarget = partialName(path.join(dir, 'b.dump'), deadPid(), '22222222')
    for (const file of [dead, alive, otherTarget]) writeFileSync(file, 'x')
    expect(await removeStalePartials(target)).to.deep.equal([dead])
    expect(existsSync(dead)).to.equal(false)
    expect(existsSync(alive)).to.equal(true)
    expect(existsSync(otherTarget)).to.equal(true)
  })

  describe('the dump and its record', () => {
    const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), {code: 'ENOSPC'})

    async function sealedDump(target: string): Promise<PartialFile> {
      const dump = await PartialFile.create(target)
      await pipeline(Readable.from([Buffer.from('PGDMP...')]), dump.stream())
      await dump.seal()
      return dump
    }

    it('gives the record its name before the dump takes its own', async () => {
      const target = path.join(dir, 'a.dump')
      const dump = await sealedDump(target)
      const publishDump = dump.publish.bind(dump)
      let recordThere: string | undefined
      dump.publish = async () => {
        recordThere = readFileSync(`${target}.json`, 'utf8')
        expect(existsSync(target), 'the dump has no name yet').to.equal(false)
        return publishDump()
      }
      await publishWithRecord(dump, '{"format":"x"}\n')
      expect(recordThere).to.equal('{"format":"x"}\n')
      expect(readFileSync(target, 'utf8')).to.equal('PGDMP...')
      expect(readdirSync(dir).sort()).to.deep.equal(['a.dump', 'a.dump.json'])
    })

    it('removes both names and both temporary files when the dump cannot take its name', async () => {
      const target = path.join(dir, 'a.dump')
      const dump = await sealedDump(target)
      dump.publish = async () => {
        throw enospc()
      }
      const error = await publishWithRecord(dump, '{}\n').catch((e: unknown) => e)
      expect(error).to.have.property('code', 'ENOSPC')
      expect(readdirSync(dir)).to.deep.equal([])
    })

    it('leaves no dump when the record cannot take its name, and never removes a record it did not write', async () => {
      const target = path.join(dir, 'a.dump')
      writeFileSync(`${target}.json`, 'someone else’s')
      const dump = await sealedDump(target)
      const error = await publishWithRecord(dump, '{}\n').catch((e: unknown) => e)
      expect(error)
        .to.be.instanceOf(UsageError)
        .and.match(/a\.dump\.json appeared while the backup ran/)
      expect(readdirSync(dir)).to.deep.equal(['a.dump.json'])
      expect(readFileSync(`${target}.json`, 'utf8')).to.equal('someone else’s')
    })

    it('says in one line what could not be written, where, and how much room there was', () => {
      const context = {
        what: 'the backup /b/a.dump',
        dir: '/b',
        freeBefore: 700 * 1024,
        written: '612.0 KiB of the dump written',
        unchanged: 'nothing was written to /b/a.dump',
      }
      const full = writeFailure(enospc(), context)
      expect(full).to.be.instanceOf(StackctlError)
      expect(full!.message).to.equal(
        'could not write the backup /b/a.dump: no space left on the device in /b (612.0 KiB of the dump written; 700.0 KiB was free when the backup started)',
      )
      expect(full!.suggestion).to.match(
        /write the backup to another directory .*; nothing was written to \/b\/a\.dump$/,
      )
      expect(full!.message).to.not.match(/\n|ENOSPC/)
      const quota = writeFailure(Object.assign(new Error('EDQUOT'), {code: 'EDQUOT'}), context)
      expect(quota!.message).to.include('the disk quota is exceeded in /b')
      const readOnly = writeFailure(Object.assign(new Error('EROFS'), {code: 'EROFS'}), context)
      expect(readOnly!.message).to.equal('could not write the backup /b/a.dump: /b is on a read-only filesystem')
      const denied = writeFailure(Object.assign(new Error('EACCES'), {code: 'EACCES'}), context)
      expect(denied!.message).to.equal('could not write the backup /b/a.dump: permission denied in /b')
      // Negative control: other failures are not disguised as the filesystem's.
      expect(writeFailure(Object.assign(new Error('EPIPE'), {code: 'EPIPE'}), context)).to.equal(undefined)
      expect(writeFailure(new Error('boom'), context)).to.equal(undefined)
    })
  })
})
