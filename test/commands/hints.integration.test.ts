/**
 * Every hint is a command that works when pasted as printed, from another directory: a stack with its own
 * --dir and --project-name is followed through open, logs, status and doctor while its db is stopped, and
 * each printed `stackctl …` line is run as printed (through sh) from a directory that is not the stack's.
 */
import {expect} from 'chai'
import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {freePort, repoRoot, runCli, type CliResult} from '../helpers/cli.js'
import {docker, removeComposeProject, uniqueName} from '../helpers/docker.js'

/** The `stackctl …` commands a hint names (in backquotes or after "with"/"run"), as printed. */
export function printedCommands(text: string): string[] {
  return [...text.matchAll(/stackctl [a-z][^;,)`\n]*?(?=$|[;,)`\n]| or | then |, )/gm)].map((m) => m[0].trim())
}

/** Runs a printed command through the shell, with `stackctl` being this checkout's CLI, from `cwd`. */
function runPrinted(command: string, cwd: string): Promise<CliResult> {
  const bin = path.join(repoRoot, 'bin', 'run.js')
  const child = spawn('sh', ['-c', `stackctl() { "${process.execPath}" "${bin}" "$@"; }; ${command}`], {
    cwd,
    env: {...process.env, STACKCTL_IMAGE_SOURCE: 'local'},
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const output = {stdout: '', stderr: ''}
  child.stdout.on('data', (chunk) => (output.stdout += chunk))
  child.stderr.on('data', (chunk) => (output.stderr += chunk))
  return new Promise((resolve) => child.on('close', (code) => resolve({exitCode: code ?? 1, ...output})))
}

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
    const up = await cli('up', '--port', String(port))
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

  it('logs of a stack never started: its hint starts that stack, not the default one', async () => {
    const never = uniqueName('hints-never')
    const neverDir = path.join(root, 'never')
    try {
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
