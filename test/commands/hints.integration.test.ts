/**
 * Every hint is a command that works when pasted as printed, from another directory: a stack with its own
 * --dir and --project-name is followed through open, logs, status and doctor while its db is stopped, and
 * each printed `stackctl …` line is run as printed (through sh) from a directory that is not the stack's.
 */
import {expect} from 'chai'
import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {hostname, tmpdir} from 'node:os'
import path from 'node:path'

import {freePort, runCli, type CliResult, NO_WAL_ARCHIVE} from '../helpers/cli.js'
import {printedCommands, runPrinted} from '../helpers/hints.js'
import {projectLockFile} from '../../src/lib/stack/lock.js'
import {processIdentity} from '../../src/lib/stack/process-identity.js'
import {docker, removeComposeProject, uniqueName} from '../helpers/docker.js'

describe('hints work when pasted (integration)', function () {
  this.timeout(600_000)
  const project = uniqueName('hints')
  const root = mkdtempSync(path.join(tmpdir(), 'stackctl-hints-'))
  const dir = path.join(root, 'stack dir') // a space: the printed --dir must be quoted
  const elsewhere = mkdtempSync(path.join(tmpdir(), 'stackctl-hints-elsewhere-'))
  let port: number

  const cli = (...args: string[]) =>
    runCli([...args, '--dir', dir, '--project-name', project], {env: {STACKCTL_IMAGE_SOURCE: 'local'}, cwd: elsewhere})

  async function stopDb(): Promise<void> {
    const [db] = await docker.listContainers({
      filters: {label: [`com.docker.compose.project=${project}`, 'com.docker.compose.service=db']},
    })
    await docker.getContainer(db.Id).stop()
  }

  before(async () => {
    port = await freePort()
    // This file's subject is not WAL archiving (on by default): its stacks run without it (NO_WAL_ARCHIVE).
    const up = await cli('up', NO_WAL_ARCHIVE, '--port', String(port))
    expect(up.exitCode, up.stderr).to.equal(0)
  })

  after(async () => {
    await removeComposeProject(project)
    rmSync(root, {recursive: true, force: true})
    rmSync(elsewhere, {recursive: true, force: true})
  })

  it('finds the commands a hint names', () => {
    expect(printedCommands("Hint: start it with stackctl up --dir '/a b' --project-name p\n")).to.deep.equal([
      "stackctl up --dir '/a b' --project-name p",
    ])
    expect(printedCommands('fix: stackctl up --dir /x, then stackctl status --dir /x')).to.deep.equal([
      'stackctl up --dir /x',
      'stackctl status --dir /x',
    ])
    expect(
      printedCommands(
        "db is exited: run stackctl up --dir '/a b' -p q to start it (stackctl logs db --dir '/a b' -p q says)",
      ),
    ).to.deep.equal(["stackctl up --dir '/a b' -p q", "stackctl logs db --dir '/a b' -p q"])
  })

  it('open --print on a stack whose db is stopped: exit 1 with the reason, and its hint starts the stack', async () => {
    await stopDb()
    const open = await cli('open', '--print')
    expect(open.exitCode).to.equal(1)
    expect(open.stdout).to.equal('')
    expect(open.stderr).to.include('db is exited')
    const [hint] = printedCommands(open.stderr)
    expect(hint).to.equal(`stackctl up --dir '${dir}' --project-name ${project}`)
    const pasted = await runPrinted(hint, elsewhere)
    expect(pasted.exitCode, pasted.stderr).to.equal(0)
    const again = await cli('open', '--print')
    expect(again.exitCode, again.stderr).to.equal(0)
    expect(again.stdout.trim()).to.equal(`http://127.0.0.1:${port}`)
  })

  /** Runs every command `output` prints, from elsewhere; each must succeed. Returns what was run. */
  async function runEveryPrinted(output: string): Promise<string[]> {
    const commands = [...new Set(printedCommands(output))]
    for (const command of commands) {
      const pasted = await runPrinted(command, elsewhere)
      expect(pasted.exitCode, `${command}\n${pasted.stderr}`).to.equal(0)
    }
    return commands
  }

  it('status and doctor on a stack whose db is stopped: every command they print works when pasted', async () => {
    await stopDb()
    const status = await cli('status')
    const ran = await runEveryPrinted(status.stdout + status.stderr)
    const where = `--dir '${dir}' --project-name ${project}`
    expect(ran).to.include.members([`stackctl up ${where}`, `stackctl logs db ${where}`])

    await stopDb()
    const doctor = await cli('doctor')
    expect(doctor.exitCode).to.equal(1)
    expect(doctor.stdout + doctor.stderr).to.not.include('see stackctl doctor')
    const fixed = await runEveryPrinted(doctor.stdout + doctor.stderr)
    expect(fixed).to.include.members([`stackctl up ${where}`, `stackctl status ${where}`])
    expect((await cli('status', '--check')).exitCode).to.equal(0)
  })

  it('a failed up: the logs and up it names work when pasted (after the cause is fixed)', async () => {
    const override = path.join(dir, 'docker-compose.override.yml')
    writeFileSync(override, "services:\n  app:\n    command: ['node', '-e', 'process.exit(3)']\n")
    let failed: CliResult
    try {
      failed = await cli('up', NO_WAL_ARCHIVE, '--timeout', '60')
      expect(failed.exitCode).to.equal(1)
    } finally {
      rmSync(override)
    }
    const named = printedCommands(failed.stderr)
    const where = `--dir '${dir}' --project-name ${project}`
    expect(named).to.include.members([`stackctl logs app ${where}`, `stackctl up ${where}`])
    await runEveryPrinted(failed.stderr) // logs app, then up (with the override gone)
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).to.equal(200)
  })

  it('logs of a stack never started: its hint starts that stack, not the default one', async () => {
    const never = uniqueName('hints-never')
    const neverDir = path.join(root, 'never')
    try {
      const status = await runCli(['status', '--dir', neverDir, '--project-name', never], {cwd: elsewhere})
      expect(status.exitCode, status.stderr).to.equal(0)
      expect(printedCommands(status.stdout)).to.deep.equal([`stackctl up --dir ${neverDir} --project-name ${never}`])
      const logs = await runCli(['logs', '--dir', neverDir, '--project-name', never], {cwd: elsewhere})
      expect(logs.exitCode).to.equal(1)
      const [hint] = printedCommands(logs.stderr)
      expect(hint).to.equal(`stackctl up --dir ${neverDir} --project-name ${never}`)
      const pasted = await runPrinted(`${hint} --port ${await freePort()}`, elsewhere)
      expect(pasted.exitCode, pasted.stderr).to.equal(0)
      expect(pasted.stdout).to.include(`stack '${never}' is up`)
    } finally {
      await removeComposeProject(never)
    }
  })

  it('a stale lock (empty, pid 0, garbled, a pid now another process) does not block up; a live one does', async () => {
    const lock = projectLockFile(project)
    const sleeper = spawn('sleep', ['60'], {stdio: 'ignore'})
    try {
      // the pid of a live process, but not the one that took the lock: another start time
      const identity = processIdentity(sleeper.pid!)!
      const reused = JSON.stringify({
        pid: sleeper.pid,
        command: 'up',
        host: hostname(),
        since: '',
        ...identity,
        startTicks: identity.startTicks + 1,
      })
      for (const content of ['', '0', '{"pid":', reused]) {
        writeFileSync(lock, content)
        const up = await cli('up', NO_WAL_ARCHIVE)
        expect(up.exitCode, `lock ${JSON.stringify(content)}: ${up.stderr}`).to.equal(0)
        expect(existsSync(lock), 'released after the command').to.equal(false)
      }
      // control: a lock whose process is alive and is the very process it names
      const me = {pid: process.pid, command: 'verify-persistence', host: hostname(), since: new Date().toISOString()}
      writeFileSync(lock, JSON.stringify({...me, ...processIdentity(process.pid)}))
      const blocked = await cli('up', NO_WAL_ARCHIVE)
      expect(blocked.exitCode).to.not.equal(0)
      expect(blocked.stderr).to.include(`'stackctl verify-persistence' (pid ${process.pid}`)
    } finally {
      sleeper.kill()
      rmSync(lock, {force: true})
    }
  })

  it('a project taken down and used from another directory: the refusal names its stack directory, creates nothing', async () => {
    const down = await cli('down')
    expect(down.exitCode, down.stderr).to.equal(0)
    const other = path.join(root, 'other')
    const status = await runCli(['status', '--dir', other, '--project-name', project], {cwd: elsewhere})
    expect(status.exitCode).to.equal(2)
    expect(status.stderr).to.include(`belongs to another stackctl stack (its stack directory is ${dir})`)
    expect(existsSync(other), 'a refused command leaves no directory behind').to.equal(false)
    const hint = /--dir '[^']+'/.exec(status.stderr)?.[0]
    expect(hint).to.equal(`--dir '${dir}'`)
    const pasted = await runPrinted(`stackctl status ${hint} --project-name ${project}`, elsewhere)
    expect(pasted.exitCode, pasted.stderr).to.equal(0)
  })
})
