/** `stackctl psql`, `ls` and `open` against the real engine, with two stacks of their own. */
/* eslint-disable no-control-regex -- a terminal's output is matched escape code by escape code */
import {expect} from 'chai'
import {existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {freePort, runCli, runCliInTerminal, type CliResult, NO_WAL_ARCHIVE} from '../helpers/cli.js'
import {removeComposeProject, uniqueName} from '../helpers/docker.js'

interface Listed {
  project: string
  state: string
  url: string | null
  volume: {name: string; exists: boolean; sizeBytes: number | null}
  dir: string | null
}

describe('psql and ls (integration)', function () {
  this.timeout(600_000)
  const root = mkdtempSync(path.join(tmpdir(), 'stackctl-psql-ls-'))
  const stacks = [uniqueName('ls-a'), uniqueName('ls-b')].map((project) => ({
    project,
    dir: path.join(root, project),
    port: 0,
  }))
  const cli = (s: (typeof stacks)[number], ...args: string[]) =>
    runCli([...args, '--dir', s.dir, '--project-name', s.project], {env: {STACKCTL_IMAGE_SOURCE: 'local'}})
  /** psql's own arguments come after `--`, stackctl's before it. */
  const psql = (s: (typeof stacks)[number], args: string[], input?: string) =>
    runCli(['psql', '--dir', s.dir, '--project-name', s.project, '--', ...args], {
      input,
      env: {STACKCTL_IMAGE_SOURCE: 'local'},
    })

  /** How each `up` looked: the first without a terminal, the second in one. */
  let plainUp: CliResult
  let terminalUp: {exitCode: number; output: string}

  before(async () => {
    for (const s of stacks) s.port = await freePort()
    // This file's subject is not WAL archiving (on by default): its stacks run without it (NO_WAL_ARCHIVE);
    // ls of an archiving stack is pinned in list.unit.test.ts.
    plainUp = await cli(stacks[0], 'up', NO_WAL_ARCHIVE, '--port', String(stacks[0].port))
    expect(plainUp.exitCode, plainUp.stderr).to.equal(0)
    const [, b] = stacks
    terminalUp = await runCliInTerminal(
      ['up', NO_WAL_ARCHIVE, '--dir', b.dir, '--project-name', b.project, '--port', String(b.port)],
      {
        env: {STACKCTL_IMAGE_SOURCE: 'local', NO_COLOR: ''},
      },
    )
    expect(terminalUp.exitCode, terminalUp.output).to.equal(0)
    expect((await fetch(`http://127.0.0.1:${stacks[0].port}/`)).status).to.equal(200)
  })

  it('up shows one timed line per step, Compose’s lines only with --verbose, and a closing block', async () => {
    const steps = ['check engine, port and volume', 'render and images', 'start containers', 'wait until healthy']
    for (const step of steps) expect(plainUp.stderr).to.match(new RegExp(`^✔ ${step} \\([\\d.]+ s\\)$`, 'm'))
    // Each service once, as it turns healthy, under the wait step, as plain lines.
    expect(plainUp.stderr).to.match(
      /^ {2}✔ db healthy \([\d.]+ s\)\n {2}✔ app healthy \([\d.]+ s\)\n✔ wait until healthy /m,
    )
    expect(plainUp.stderr).to.not.match(/\u001b|\r/)
    expect(plainUp.stderr).to.not.include('Container')
    expect(plainUp.stdout).to.match(
      new RegExp(`^stack '${stacks[0].project}' is up in [\\d.]+s: http://127.0.0.1:${stacks[0].port}$`, 'm'),
    )
    expect(plainUp.stdout).to.include(`  data      volume ${stacks[0].project}_postgres_data, 0 visits`)
    expect(plainUp.stdout).to.include(`  files     ${stacks[0].dir}`)
    expect(plainUp.stdout).to.include(`stackctl psql --dir ${stacks[0].dir} ·`)

    // In a terminal: a spinner redrawn in place, no colour under NO_COLOR, the same finished lines.
    expect(terminalUp.output).to.match(/\r\u001b\[2K[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] wait until healthy/)
    expect(terminalUp.output).to.match(/✔ start containers \([\d.]+ s\)/)
    expect(terminalUp.output).to.not.match(/\u001b\[3\dm/)
    expect(terminalUp.output).to.not.include('Container')

    // --quiet on the running stack: the URL line and nothing else.
    const quiet = await cli(stacks[0], 'up', '--quiet')
    expect(quiet.exitCode, quiet.stderr).to.equal(0)
    expect(quiet.stderr).to.equal('')
    expect(quiet.stdout.trim().split('\n')).to.have.length(1)
  })

  after(async () => {
    for (const s of stacks) await removeComposeProject(s.project)
    rmSync(root, {recursive: true, force: true})
  })

  it('open prints the running stack’s URL, starts $BROWSER on it, and refuses a stack that is not running', async () => {
    const printed = await cli(stacks[0], 'open', '/visits?limit=1', '--print')
    expect(printed.exitCode, printed.stderr).to.equal(0)
    expect(printed.stdout.trim()).to.equal(`http://127.0.0.1:${stacks[0].port}/visits?limit=1`)
    expect((await fetch(printed.stdout.trim())).status).to.equal(200)

    // A stand-in browser that records what it was asked to open.
    const opened = path.join(root, 'opened.txt')
    const browser = path.join(root, 'browser.sh')
    writeFileSync(browser, `#!/bin/sh\necho "$1" > ${opened}\n`, {mode: 0o755})
    const started = await runCli(['open', '--dir', stacks[1].dir, '--project-name', stacks[1].project, '--json'], {
      env: {BROWSER: browser},
    })
    expect(JSON.parse(started.stdout)).to.deep.equal({
      schemaVersion: 1,
      url: `http://127.0.0.1:${stacks[1].port}`,
      opened: false,
      reason: 'asked to print only',
    })
    const launched = await runCli(['open', '--dir', stacks[1].dir, '--project-name', stacks[1].project], {
      env: {BROWSER: browser},
    })
    expect(launched.exitCode, launched.stderr).to.equal(0)
    expect(readFileSync(opened, 'utf8').trim()).to.equal(`http://127.0.0.1:${stacks[1].port}`)

    const bad = await cli(stacks[0], 'open', 'visits')
    expect(bad.exitCode).to.equal(2)
    expect(bad.stderr).to.include("'visits' is not a path on the API")
    const never = uniqueName('open-none')
    const absent = await runCli(['open', '--dir', path.join(root, never), '--project-name', never])
    expect(absent.exitCode).to.equal(1)
    expect(absent.stderr).to.include(`the stack '${never}' is not running`)
    expect(absent.stderr).to.include('stackctl up')
  })

  it('describe shows the running stack on one screen and in --json: health, images, version, volume size, backups', async () => {
    const [a] = stacks
    const backup = await cli(a, 'volume', 'backup', '--json')
    expect(backup.exitCode, backup.stderr).to.equal(0)
    const dumped = (JSON.parse(backup.stdout) as {file: string}).file
    // A dump copied in by hand has no record; a link is never followed, so it is not listed.
    writeFileSync(path.join(a.dir, 'backups', 'copied.dump'), 'not a dump')
    symlinkSync(dumped, path.join(a.dir, 'backups', 'link.dump'))

    const json = await cli(a, 'describe', '--json')
    expect(json.exitCode, json.stderr).to.equal(0)
    const report = JSON.parse(json.stdout)
    expect(report).to.deep.include({project: a.project, url: `http://127.0.0.1:${a.port}`, dbUrl: null, healthy: true})
    expect(
      report.services.map((s: {name: string; state: string; health: string}) => [s.name, s.state, s.health]),
    ).to.deep.equal([
      ['db', 'running', 'healthy'],
      ['app', 'running', 'healthy'],
    ])
    expect(report.services[0].image).to.equal('stackctl/postgres:17')
    expect(report.services[1].image).to.match(/^stackctl-app:/)
    for (const s of report.services) expect(s.imageId).to.match(/^sha256:[0-9a-f]{64}$/)
    const version = await psql(a, ['-tAc', 'show server_version'])
    expect(report.postgresVersion).to.equal(version.stdout.trim().split(' ')[0])
    expect(report.volume).to.deep.include({name: `${a.project}_postgres_data`, exists: true, pgMajor: 17})
    expect(report.volume.sizeBytes).to.be.above(1_000_000) // an initialised cluster, tens of MiB
    expect(
      report.backups.files.map((f: {file: string; visits: number | null}) => [path.basename(f.file), f.visits]),
    ).to.deep.equal([
      [path.basename(dumped), 1],
      ['copied.dump', null],
    ])
    expect(report.backups.archive).to.equal(null)

    const human = await cli(a, 'describe')
    expect(human.exitCode, human.stderr).to.equal(0)
    expect(human.stdout).to.include(`services  all running and healthy`)
    expect(human.stdout).to.include(`postgres  ${report.postgresVersion}, images from local builds`)
    expect(human.stdout).to.match(new RegExp(`^volume    ${a.project}_postgres_data, [\\d.]+ MiB$`, 'm'))
    expect(human.stdout).to.include(`backups   2 in ${path.join(a.dir, 'backups')}`)
    expect(human.stdout).to.include(
      `not published (stackctl up --db-port 5432 --dir ${a.dir} --project-name ${a.project} publishes`,
    )
    // The password never shows (the control: the file holds one).
    const password = readFileSync(path.join(a.dir, 'secrets', 'db_password'), 'utf8').trim()
    expect(password).to.have.length.above(8)
    expect(human.stdout + json.stdout).to.not.include(password)

    // A stack never started: described as such, exit 0, nothing made.
    const never = uniqueName('describe-none')
    const nothing = await runCli(['describe', '--json', '--dir', path.join(root, never), '--project-name', never])
    expect(nothing.exitCode, nothing.stderr).to.equal(0)
    const empty = JSON.parse(nothing.stdout)
    expect(empty).to.deep.include({healthy: false, postgresVersion: null})
    expect(empty.services.map((s: {state: string}) => s.state)).to.deep.equal(['absent', 'absent'])
    expect(empty.volume).to.deep.include({exists: false, sizeBytes: null})
    expect(empty.backups.files).to.deep.equal([])
    expect(existsSync(path.join(root, never))).to.equal(false)
  })

  it('runs psql -c in the db container as the stack’s user, without a terminal or a password', async () => {
    const result = await psql(stacks[0], ['-tAc', 'select count(*) + 41 from visits'])
    expect(result.exitCode, result.stderr).to.equal(0)
    expect(result.stdout.trim()).to.equal('42')
  })

  it('passes psql’s own exit code on, and reads SQL from stdin', async () => {
    const bad = await psql(stacks[0], ['-v', 'ON_ERROR_STOP=1', '-c', 'select no_such_column'])
    expect(bad.exitCode).to.equal(1)
    expect(bad.stderr).to.include('no_such_column')
    const piped = await psql(stacks[0], ['-tA'], 'select 6 * 7;\n')
    expect(piped.stdout.trim()).to.equal('42')
  })

  it('shows logs with --tail and --timestamps, without terminal control sequences', async () => {
    const logs = await cli(stacks[0], 'logs', 'db', '--tail', '5', '--timestamps')
    expect(logs.exitCode, logs.stderr).to.equal(0)
    const lines = logs.stdout.trim().split('\n')
    expect(lines.length).to.be.within(1, 5)
    for (const line of lines) expect(line).to.match(/^db-1\s+\|\s+\d{4}-\d{2}-\d{2}T/)
    expect(logs.stdout).to.not.include('\u001b')
  })

  it('says clearly that a stack never started has no logs (exit 1)', async () => {
    const never = {project: uniqueName('ls-never'), dir: path.join(root, 'never'), port: 0}
    const logs = await cli(never, 'logs')
    expect(logs.exitCode).to.equal(1)
    expect(logs.stderr).to.equal(
      `Error: the stack '${never.project}' has no containers, so there are no logs\n` +
        `Hint: start it with stackctl up --dir ${never.dir} --project-name ${never.project}\n`,
    )
  })

  it('lists both stacks with state, URL, volume and directory; a stack taken down keeps its volume row', async () => {
    const down = await cli(stacks[1], 'down')
    expect(down.exitCode, down.stderr).to.equal(0)
    const result = await runCli(['ls', '--json'])
    expect(result.exitCode, result.stderr).to.equal(0)
    const listed = (JSON.parse(result.stdout) as {stacks: Listed[]}).stacks
    const [a, b] = stacks.map((s) => listed.find((l) => l.project === s.project))
    expect(a).to.deep.include({state: 'running', url: `http://127.0.0.1:${stacks[0].port}`, dir: stacks[0].dir})
    expect(a?.volume).to.include({name: `${stacks[0].project}_postgres_data`, exists: true})
    expect(a?.volume.sizeBytes).to.be.greaterThan(1_000_000)
    expect(b).to.deep.include({state: 'down', url: null, dir: null})
    expect(b?.volume.exists).to.equal(true)
    const human = await runCli(['ls'])
    expect(human.stdout).to.match(
      new RegExp(`^${stacks[0].project}\\s+running\\s+http://127\\.0\\.0\\.1:${stacks[0].port}`, 'm'),
    )
  })
})
