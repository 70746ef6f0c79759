/**
 * `db export` and `db import` on one stack (its own --dir and --project-name, run from another directory): the
 * export round-trips through an import that replaces the stack's tables; a database with visits is changed
 * only when confirmed (--force without a terminal), and the hint that says so works as printed; a bad file,
 * a failing statement, a file cut short and Ctrl-C leave the visits as they were.
 */
import {expect} from 'chai'
import {gzipSync} from 'node:zlib'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {freePort, runCli, spawnCli, NO_WAL_ARCHIVE} from '../helpers/cli.js'
import {psqlIn, removeComposeProject, uniqueName} from '../helpers/docker.js'
import {runPrinted} from '../helpers/hints.js'

describe('db export and db import (integration)', function () {
  this.timeout(600_000)
  const project = uniqueName('w24-sql')
  const root = mkdtempSync(path.join(tmpdir(), 'stackctl-sql-'))
  const dir = path.join(root, 'stack')
  const files = path.join(root, 'files')
  const env = {STACKCTL_IMAGE_SOURCE: 'local'}
  let port: number
  const cli = (args: string[]) => runCli([...args, '--dir', dir, '--project-name', project], {env, cwd: files})
  const visits = async () => Number(await psqlIn(project, 'SELECT count(*) FROM visits'))
  const file = (name: string, content: string | Buffer) => {
    const target = path.join(files, name)
    writeFileSync(target, content)
    return target
  }

  before(async () => {
    port = await freePort()
    // This file's subject is not WAL archiving (on by default): its stacks run without it (NO_WAL_ARCHIVE).
    const up = await runCli(['up', NO_WAL_ARCHIVE, '--dir', dir, '--project-name', project, '--port', String(port)], {
      env,
      cwd: root,
    })
    expect(up.exitCode, up.stderr).to.equal(0)
    mkdirSync(files)
    await psqlIn(project, 'INSERT INTO visits DEFAULT VALUES; INSERT INTO visits DEFAULT VALUES')
    await psqlIn(project, 'UPDATE visit_counter SET n = (SELECT count(*) FROM visits)')
  })

  after(async () => {
    await removeComposeProject(project)
    rmSync(root, {recursive: true, force: true})
  })

  it('exports to stdout, to a file and to a .gz, and an import of the export puts that data back', async () => {
    const exported = await visits()
    const stdout = await cli(['db', 'export'])
    expect(stdout.exitCode, stdout.stderr).to.equal(0)
    expect(stdout.stdout).to.include('CREATE TABLE public.visits')
    expect(stdout.stdout).to.include('DROP TABLE IF EXISTS public.visits')

    const plain = await cli(['db', 'export', 'visits.sql'])
    expect(plain.exitCode, plain.stderr).to.equal(0)
    expect(plain.stdout).to.include(`exported ${exported} visits`)
    expect(readFileSync(path.join(files, 'visits.sql'), 'utf8')).to.include('COPY public.visits')

    const gz = await cli(['db', 'export', 'visits.sql.gz', '--json'])
    expect(gz.exitCode, gz.stderr).to.equal(0)
    const result = JSON.parse(gz.stdout) as {file: string; compressed: boolean; visits: number}
    expect(result).to.include({file: path.join(files, 'visits.sql.gz'), compressed: true, visits: exported})
    expect(readFileSync(result.file).subarray(0, 2)).to.deep.equal(Buffer.from([0x1f, 0x8b]))

    await psqlIn(project, 'INSERT INTO visits DEFAULT VALUES; INSERT INTO visits DEFAULT VALUES')
    expect(await visits()).to.equal(exported + 2) // control: the import below must undo these two
    const imported = await cli(['db', 'import', 'visits.sql.gz', '--force', '--json'])
    expect(imported.exitCode, imported.stderr).to.equal(0)
    expect(JSON.parse(imported.stdout)).to.include({visitsBefore: exported + 2, visitsAfter: exported})
    expect(await visits()).to.equal(exported)
    // The API carries on over the replaced tables, its counter from the export.
    const served = (await (await fetch(`http://127.0.0.1:${port}/`)).json()) as {visits: number}
    expect(served.visits).to.equal(exported + 1)
  })

  it('never writes over a file or through a link', async () => {
    const existing = file('taken.sql', 'mine\n')
    const taken = await cli(['db', 'export', existing])
    expect(taken.exitCode).to.equal(2)
    expect(taken.stderr).to.include('already exists')
    expect(readFileSync(existing, 'utf8')).to.equal('mine\n')

    const linked = path.join(files, 'linked.sql')
    const pointee = path.join(files, 'pointee.sql')
    symlinkSync(pointee, linked)
    const link = await cli(['db', 'export', linked])
    expect(link.exitCode).to.equal(2)
    expect(link.stderr).to.include('is a symbolic link')
    expect(existsSync(pointee)).to.equal(false)
  })

  it('asks before changing a database with visits; without a terminal its hint (--force) works as printed', async () => {
    const before = await visits()
    const sql = file('one.sql', 'INSERT INTO visits DEFAULT VALUES;\n')
    const refused = await cli(['db', 'import', sql])
    expect(refused.exitCode).to.equal(2)
    expect(refused.stderr).to.include('without confirmation')
    expect(await visits()).to.equal(before)
    const hint = refused.stderr.split('\n').find((line) => line.startsWith('Hint: '))!
    // The hint ends with the command (a path argument is past what printedCommands reads).
    const command = /stackctl db import .*$/.exec(hint)?.[0] ?? ''
    expect(command).to.include('--force')
    expect(command).to.include(`--project-name ${project}`)
    const printed = await runPrinted(command, tmpdir())
    expect(printed.exitCode, printed.stderr).to.equal(0)
    expect(await visits()).to.equal(before + 1)
  })

  it('runs nothing of a file with a failing statement, a cut-short .gz or an unclosed quote', async () => {
    const before = await visits()
    const failing = await cli([
      'db',
      'import',
      file('bad.sql', 'INSERT INTO visits DEFAULT VALUES;\nSELECT * FROM nosuch;\n'),
      '--force',
    ])
    expect(failing.exitCode).to.equal(1)
    expect(failing.stderr).to.match(/psql:<stdin>:2: ERROR: +relation "nosuch" does not exist/)
    expect(failing.stderr).to.include('nothing was imported')

    // Past the first 64 KiB that are checked up front, so the cut is only found while the file is running.
    const statements = ['INSERT INTO visits DEFAULT VALUES;', ...Array.from({length: 20_000}, (_, i) => `SELECT ${i};`)]
    const gz = gzipSync(statements.join('\n'))
    const cut = await cli(['db', 'import', file('cut.sql.gz', gz.subarray(0, gz.length - 30)), '--force'])
    expect(cut.exitCode).to.equal(1)
    expect(cut.stderr).to.include('could not be read to its end')

    const open = await cli([
      'db',
      'import',
      file('open.sql', "INSERT INTO visits DEFAULT VALUES;\nSELECT 'x;\n"),
      '--force',
    ])
    expect(open.exitCode).to.equal(1)
    expect(open.stderr).to.include('unfinished statement')
    expect(await visits()).to.equal(before)

    // Control: the whole .gz runs (and counts its one visit), so the cut above was what stopped it.
    const whole = await cli(['db', 'import', file('whole.sql.gz', gz), '--force'])
    expect(whole.exitCode, whole.stderr).to.equal(0)
    expect(await visits()).to.equal(before + 1)
  })

  it('refuses what is not SQL before touching the stack', async () => {
    const archive = await cli(['db', 'import', file('x.dump', Buffer.from('PGDMP\x01\x0e\x00')), '--force'])
    expect(archive.exitCode).to.equal(2)
    expect(archive.stderr).to.include('pg_dump archive')
    expect(archive.stderr).to.include(`volume restore ${path.join(files, 'x.dump')}`)
    const empty = await cli(['db', 'import', file('empty.sql', ''), '--force'])
    expect(empty.exitCode).to.equal(2)
    expect(empty.stderr).to.include('empty')
    const notGz = await cli(['db', 'import', file('plain.sql.gz', 'SELECT 1;\n'), '--force'])
    expect(notGz.exitCode).to.equal(2)
    expect(notGz.stderr).to.include('not gzip-compressed')
  })

  it('Ctrl-C during an import ends its session: nothing is imported, exit 130', async () => {
    const before = await visits()
    const slow = file('slow.sql', "INSERT INTO visits DEFAULT VALUES;\nSELECT pg_sleep(600), 'stackctl-slow-import';\n")
    const run = spawnCli(['db', 'import', slow, '--force', '--dir', dir, '--project-name', project], {env, cwd: files})
    const running =
      "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%stackctl-slow-import%' AND pid <> pg_backend_pid()"
    while ((await psqlIn(project, running)) !== '1') {
      expect(run.child.exitCode, run.output.stderr).to.equal(null)
    }
    run.child.kill('SIGINT')
    const result = await run.result
    expect(result.exitCode, result.stderr).to.equal(130)
    expect(result.stderr).to.include('nothing was imported')
    expect(await visits()).to.equal(before)
    expect(await psqlIn(project, running)).to.equal('0')
  })
})
