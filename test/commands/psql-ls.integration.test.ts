/** `stackctl psql` and `stackctl ls` against the real engine, with two stacks of their own. */
import {expect} from 'chai'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {freePort, runCli} from '../helpers/cli.js'
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

  before(async () => {
    for (const s of stacks) {
      s.port = await freePort()
      const up = await cli(s, 'up', '--port', String(s.port))
      expect(up.exitCode, up.stderr).to.equal(0)
    }
    expect((await fetch(`http://127.0.0.1:${stacks[0].port}/`)).status).to.equal(200)
  })

  after(async () => {
    for (const s of stacks) await removeComposeProject(s.project)
    rmSync(root, {recursive: true, force: true})
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
      `Error: the stack '${never.project}' has no containers, so there are no logs\nHint: start it with stackctl up\n`,
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
