/** `stackctl psql`'s arguments reach psql exactly as typed, with or without `--` (against the real engine). */
import {expect} from 'chai'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {freePort, runCli, NO_WAL_ARCHIVE} from '../helpers/cli.js'
import {removeComposeProject, uniqueName} from '../helpers/docker.js'

describe('psql arguments (integration)', function () {
  this.timeout(600_000)
  const root = mkdtempSync(path.join(tmpdir(), 'stackctl-psql-args-'))
  const project = `i21c-${uniqueName('psql')}`
  const dir = path.join(root, project)
  const env = {STACKCTL_IMAGE_SOURCE: 'local'}
  const psql = (...args: string[]) => runCli(['psql', ...args], {env})

  before(async () => {
    // This file's subject is not WAL archiving (on by default): its stacks run without it (NO_WAL_ARCHIVE).
    const up = await runCli(
      ['up', NO_WAL_ARCHIVE, '--dir', dir, '--project-name', project, '--port', String(await freePort())],
      {env},
    )
    expect(up.exitCode, up.stderr).to.equal(0)
  })

  after(async () => {
    await removeComposeProject(project)
    rmSync(root, {recursive: true, force: true})
  })

  it('runs every -c after -- in order', async () => {
    const result = await psql('--dir', dir, '--project-name', project, '--', '-tA', '-c', 'SELECT 1', '-c', 'SELECT 2')
    expect(result.exitCode, result.stderr).to.equal(0)
    expect(result.stdout.trim().split('\n')).to.deep.equal(['1', '2'])
  })

  it('takes psql’s -c without --, stackctl’s own --dir and -p anywhere', async () => {
    const result = await psql('-tA', '-c', 'SELECT 41 + 1', '--dir', dir, '-p', project)
    expect(result.exitCode, result.stderr).to.equal(0)
    expect(result.stdout.trim()).to.equal('42')
    // stackctl's flags were read: without them the same command looks for another stack (negative control).
    const elsewhere = uniqueName('i21c-none')
    const other = await psql('-tA', '-c', 'SELECT 1', '--dir', path.join(root, 'none'), '-p', elsewhere)
    expect(other.exitCode).to.not.equal(0)
    expect(other.stderr).to.include(elsewhere)
  })

  it('passes arguments with spaces, quotes and flag-like values unchanged', async () => {
    const sql = `SELECT 'it''s "quoted"  --dir -p' AS x`
    const result = await psql('--dir', dir, '-p', project, '-tA', '-c', sql, '-c', 'SELECT $$a  b$$')
    expect(result.exitCode, result.stderr).to.equal(0)
    expect(result.stdout.trim().split('\n')).to.deep.equal([`it's "quoted"  --dir -p`, 'a  b'])
    // A variable's value with a space reaches psql as one argument (psql reads the SQL from stdin).
    const variable = await runCli(['psql', '--dir', dir, '-p', project, '--', '-tA', '-v', 'word=two words'], {
      env,
      input: "SELECT :'word';\n",
    })
    expect(variable.exitCode, variable.stderr).to.equal(0)
    expect(variable.stdout.trim()).to.equal('two words')
  })

  it('still shows its help with --help, and psql’s after --', async () => {
    const help = await psql('--help')
    expect(help.exitCode, help.stderr).to.equal(0)
    expect(help.stdout).to.include('Open psql on the stack')
    const psqlHelp = await psql('--dir', dir, '-p', project, '--', '--help')
    expect(psqlHelp.exitCode, psqlHelp.stderr).to.equal(0)
    expect(psqlHelp.stdout).to.include('psql is the PostgreSQL interactive terminal')
  })
})
