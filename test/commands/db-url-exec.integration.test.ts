/**
 * Host tools and commands inside the stack, on one stack with its own --dir (with a space) and --project-name:
 * `up --db-port` publishes PostgreSQL on 127.0.0.1 for the host's psql (`db url`), remembered until
 * `--db-port none`, refused when the port is taken; `exec SERVICE -- CMD` passes stdin, output and the exit
 * code through, and its hints work when pasted.
 */
import {expect} from 'chai'
import {execFile} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {createServer, type Server} from 'node:net'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {freePort, runCli, type CliResult, NO_WAL_ARCHIVE} from '../helpers/cli.js'
import {psqlIn, removeComposeProject, uniqueName} from '../helpers/docker.js'
import {runPrinted} from '../helpers/hints.js'

/** The host's own psql client (not the one in the container). */
function hostPsql(url: string, sql: string): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      'psql',
      ['-X', '-w', '-tA', url, '-c', sql],
      {env: {...process.env, PGPASSWORD: ''}},
      (error, stdout, stderr) => resolve({exitCode: error ? Number(error.code ?? 1) : 0, stdout, stderr}),
    )
  })
}

function hint(stderr: string): string {
  const line = stderr.split('\n').find((l) => l.startsWith('Hint: '))
  expect(line, stderr).to.be.a('string')
  return line!.slice('Hint: '.length)
}

describe('db url and exec (integration)', function () {
  this.timeout(900_000)
  const project = uniqueName('w2d-dburl')
  const root = mkdtempSync(path.join(tmpdir(), 'stackctl-dburl-'))
  const dir = path.join(root, 'stack dir')
  const elsewhere = mkdtempSync(path.join(tmpdir(), 'stackctl-dburl-elsewhere-'))
  const env = {STACKCTL_IMAGE_SOURCE: 'local'}
  let dbPort: number
  const cli = (args: string[], input?: string) =>
    runCli([...args, '--dir', dir, '--project-name', project], {env, cwd: elsewhere, input})
  const exec = (service: string, command: string[], input?: string) =>
    runCli(['exec', service, '--dir', dir, '-p', project, '--', ...command], {env, cwd: elsewhere, input})
  const password = () => readFileSync(path.join(dir, 'secrets', 'db_password'), 'utf8')

  before(async () => {
    dbPort = await freePort()
    // This file's subject is not WAL archiving (on by default): its stacks run without it (NO_WAL_ARCHIVE).
    const up = await cli(['up', NO_WAL_ARCHIVE, '--port', String(await freePort()), '--db-port', String(dbPort)])
    expect(up.exitCode, up.stderr).to.equal(0)
    expect(up.stdout).to.include(`database  postgres://postgres@127.0.0.1:${dbPort}/visits`)
  })

  after(async () => {
    await removeComposeProject(project)
    rmSync(root, {recursive: true, force: true})
    rmSync(elsewhere, {recursive: true, force: true})
  })

  it('gives the host’s psql a URL that works with --show-password, and none without the password', async () => {
    await psqlIn(project, 'INSERT INTO visits DEFAULT VALUES')
    const inside = await psqlIn(project, 'SELECT count(*) FROM visits')
    const withPassword = await cli(['db', 'url', '--show-password'])
    expect(withPassword.exitCode, withPassword.stderr).to.equal(0)
    expect(withPassword.stdout).to.include(password())
    const counted = await hostPsql(withPassword.stdout.trim(), 'select count(*) from visits')
    expect(counted.exitCode, counted.stderr).to.equal(0)
    expect(counted.stdout.trim()).to.equal(inside)

    const plain = await cli(['db', 'url'])
    expect(plain.exitCode, plain.stderr).to.equal(0)
    expect(plain.stdout.trim()).to.equal(`postgres://postgres@127.0.0.1:${dbPort}/visits`)
    expect(plain.stdout + plain.stderr).to.not.include(password())
    // Negative control: the URL without the password is refused by the server, so the one above proved it.
    const refused = await hostPsql(plain.stdout.trim(), 'select 1')
    expect(refused.exitCode).to.not.equal(0)
    expect(refused.stderr).to.match(/password/)

    const json = await cli(['db', 'url', '--json'])
    expect(JSON.parse(json.stdout)).to.deep.include({port: dbPort, host: '127.0.0.1', passwordShown: false})
  })

  it('shows the URL (never the password) in status, human and --json', async () => {
    const json = await cli(['status', '--json'])
    expect(json.exitCode, json.stderr).to.equal(0)
    const status = JSON.parse(json.stdout)
    expect(status.compose.dbUrl).to.equal(`postgres://postgres@127.0.0.1:${dbPort}/visits`)
    expect(status.compose.settings.dbPort).to.equal(dbPort)
    const human = await cli(['status'])
    expect(human.stdout).to.include(`db url   postgres://postgres@127.0.0.1:${dbPort}/visits`)
    expect(human.stdout + json.stdout).to.not.include(password())
  })

  it('runs a command in db and app, passing output, stdin and the exit code through', async () => {
    const one = await exec('db', ['psql', '-U', 'postgres', '-d', 'visits', '-tAc', 'select 1'])
    expect(one.exitCode, one.stderr).to.equal(0)
    expect(one.stdout.trim()).to.equal('1')
    const seven = await exec('app', ['sh', '-c', 'exit 7'])
    expect(seven.exitCode).to.equal(7)
    const zero = await exec('app', ['sh', '-c', 'exit 0']) // control: 7 came from the command
    expect(zero.exitCode).to.equal(0)
    const echoed = await exec('app', ['cat'], 'hi\n')
    expect(echoed.exitCode, echoed.stderr).to.equal(0)
    expect(echoed.stdout).to.equal('hi\n')
    // docker exec's own rule: from CMD's first word on, even stackctl's flag names are CMD's.
    const flags = await runCli(['exec', '--dir', dir, '-p', project, 'app', 'echo', '-p', '--dir'], {
      env,
      cwd: elsewhere,
    })
    expect(flags.stdout.trim()).to.equal('-p --dir')
  })

  it('refuses exec without a command and without a terminal (exit 2) with a hint that works when pasted', async () => {
    const bare = await runCli(['exec', 'app', '--dir', dir, '-p', project], {env, cwd: elsewhere})
    expect(bare.exitCode).to.equal(2)
    expect(bare.stderr).to.include('Error: no command to run in app, and no terminal for a shell')
    const pasted = await runPrinted(hint(bare.stderr).replace(/^name one after --: /, ''), elsewhere)
    expect(pasted.exitCode, pasted.stderr).to.equal(0)
    expect(pasted.stdout).to.match(/^v\d+\./)
  })

  it('remembers --db-port across up without the flag', async () => {
    const up = await cli(['up', NO_WAL_ARCHIVE])
    expect(up.exitCode, up.stderr).to.equal(0)
    expect(up.stderr).to.include(`using --db-port ${dbPort} remembered from the last run`)
    expect((await cli(['db', 'url'])).stdout.trim()).to.equal(`postgres://postgres@127.0.0.1:${dbPort}/visits`)
  })

  it('refuses a --db-port another process listens on, in one line, changing nothing', async () => {
    const held = await freePort()
    const holder: Server = createServer()
    await new Promise<void>((resolve) => holder.listen(held, '127.0.0.1', resolve))
    const stateBefore = readFileSync(path.join(dir, 'stack.json'), 'utf8')
    try {
      const up = await cli(['up', NO_WAL_ARCHIVE, '--db-port', String(held)])
      expect(up.exitCode).to.equal(2)
      expect(up.stderr).to.include(
        `Error: port ${held} on 127.0.0.1 for the database (--db-port ${held}) is already in use\n`,
      )
    } finally {
      await new Promise((resolve) => holder.close(resolve))
    }
    expect(readFileSync(path.join(dir, 'stack.json'), 'utf8')).to.equal(stateBefore)
    expect((await cli(['db', 'url'])).stdout.trim()).to.equal(`postgres://postgres@127.0.0.1:${dbPort}/visits`)
  })

  it('stops publishing with --db-port none: db url then exits 1 with a hint to publish it', async () => {
    const up = await cli(['up', NO_WAL_ARCHIVE, '--db-port', 'none'])
    expect(up.exitCode, up.stderr).to.equal(0)
    expect(up.stdout).to.not.include('database  ')
    const url = await cli(['db', 'url'])
    expect(url.exitCode).to.equal(1)
    expect(url.stderr).to.include('is not published on a host port')
    expect(hint(url.stderr)).to.include(`stackctl up --db-port 5432 --dir '${dir}' --project-name ${project}`)
    const status = JSON.parse((await cli(['status', '--json'])).stdout)
    expect(status.compose.dbUrl).to.equal(null)
    // Port 5432 may be anyone's on a shared machine: the printed command is pasted with a free port instead.
    const again = String(await freePort())
    const command = hint(url.stderr)
      .match(/stackctl up --db-port 5432 [^(]*[^ (]/)![0]
      .replace('5432', again)
    const pasted = await runPrinted(command, elsewhere)
    expect(pasted.exitCode, pasted.stderr).to.equal(0)
    expect((await cli(['db', 'url'])).stdout.trim()).to.equal(`postgres://postgres@127.0.0.1:${again}/visits`)
  })

  it('refuses exec on a stack that is not running (exit 1); its hint, pasted, starts it again', async () => {
    const down = await cli(['down'])
    expect(down.exitCode, down.stderr).to.equal(0)
    const refused = await exec('db', ['true'])
    expect(refused.exitCode).to.equal(1)
    expect(refused.stderr).to.include(`the stack '${project}' is not running`)
    const pasted = await runPrinted(hint(refused.stderr).replace(/^start it with /, ''), elsewhere)
    expect(pasted.exitCode, pasted.stderr).to.equal(0)
    const after = await exec('db', [
      'psql',
      '-U',
      'postgres',
      '-d',
      'visits',
      '-tAc',
      'select count(*) > 0 from visits',
    ])
    expect(after.stdout.trim()).to.equal('t')
  })
})
