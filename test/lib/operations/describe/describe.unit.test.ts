/** `describe`'s reading of the backups folder and of the server's version. */
import {expect} from 'chai'
import {mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {backupFiles, parsePostgresVersion} from '../../../../src/lib/operations/describe/describe.js'

function record(createdAt: string, visits: number): string {
  return JSON.stringify({
    format: 'stackctl-backup/2',
    project: 'demo',
    volume: 'demo_postgres_data',
    database: 'visits',
    pgMajor: 17,
    pgVersion: '17.5',
    schemaVersion: 1,
    visits,
    createdAt,
    bytes: 4,
    sha256: 'a'.repeat(64),
  })
}

describe('describe: backups and versions', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'stackctl-describe-'))
  after(() => rmSync(root, {recursive: true, force: true}))

  it('lists the dumps newest first with their records; a dump without a usable record says why', async () => {
    const dir = path.join(root, 'backups')
    mkdirSync(dir)
    writeFileSync(path.join(dir, 'old.dump'), 'dump')
    writeFileSync(path.join(dir, 'old.dump.json'), record('2026-12-01T00:00:00.000Z', 3))
    writeFileSync(path.join(dir, 'new.dump'), 'dump')
    writeFileSync(path.join(dir, 'new.dump.json'), record('2026-12-06T00:00:00.000Z', 5))
    writeFileSync(path.join(dir, 'bare.dump'), 'x')
    writeFileSync(path.join(dir, 'broken.dump'), 'x')
    writeFileSync(path.join(dir, 'broken.dump.json'), '{')
    // Not backups: a run's temporary file, a link (never followed), a record alone, another file.
    writeFileSync(path.join(dir, '.new.dump.123-abcdef01.partial'), 'x')
    symlinkSync(path.join(dir, 'new.dump'), path.join(dir, 'link.dump'))
    writeFileSync(path.join(dir, 'notes.txt'), 'x')
    const files = await backupFiles(dir)
    expect(files.map((f) => [path.basename(f.file), f.visits, f.createdAt, f.problem])).to.deep.equal([
      ['new.dump', 5, '2026-12-06T00:00:00.000Z', null],
      ['old.dump', 3, '2026-12-01T00:00:00.000Z', null],
      ['bare.dump', null, null, 'it has no record (bare.dump.json)'],
      ['broken.dump', null, null, 'its record is unusable: it is not valid JSON'],
    ])
    expect(files[0].bytes).to.equal(4)
  })

  it('finds nothing where there is no backups folder, or where it is a link', async () => {
    expect(await backupFiles(path.join(root, 'none'))).to.deep.equal([])
    symlinkSync(path.join(root, 'backups'), path.join(root, 'linked'))
    expect(await backupFiles(path.join(root, 'linked'))).to.deep.equal([])
  })

  it('reads the server version from postgres --version', () => {
    expect(parsePostgresVersion('postgres (PostgreSQL) 17.12 (Debian 17.12-1.pgdg13+1)\n')).to.equal('17.12')
    expect(parsePostgresVersion('postgres (PostgreSQL) 15.4\n')).to.equal('15.4')
    expect(parsePostgresVersion('bash: postgres: command not found')).to.equal(null)
  })
})
