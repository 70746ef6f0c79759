/**
 * The core end-to-end set (issue 24), one body for every engine file in test/engines: up, visits, doctor naming
 * the engine, status --check, verify-persistence in down, recreate and kill modes, volume backup and restore,
 * down, up with the count going on. Each file says which engine (its socket, what it must report, the user the
 * CLI runs as) and adds what only that engine has. A missing engine fails the file at once, saying how to start
 * it — never a skip.
 */
import {expect} from 'chai'
import Docker from 'dockerode'
import {chownSync, existsSync, mkdirSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {freePort, runCli, type CliResult} from '../helpers/cli.js'
import {uniqueName} from '../helpers/docker.js'

/**
 * Whatever the CLI left of a project on this engine (a failed down, and the WAL archive's `<project>_backups`, which
 * `down --volumes` keeps by design and which carries stackctl's label, not Compose's): its containers and volumes,
 * nothing else.
 */
export async function removeProject(engine: Docker, project: string): Promise<void> {
  const compose = [`com.docker.compose.project=${project}`]
  for (const c of await engine.listContainers({all: true, filters: {label: compose}})) {
    await engine.getContainer(c.Id).remove({force: true})
  }
  for (const label of [compose, [`io.stackctl.project=${project}`]]) {
    for (const v of (await engine.listVolumes({filters: {label}})).Volumes ?? [])
      await engine.getVolume(v.Name).remove()
  }
}

export interface EngineUnderTest {
  /** "rootful Podman", "rootless Docker". */
  title: string
  /** The engine's API socket. */
  socket: string
  /** How to start it, for the failure when it does not answer. */
  provision: string
  /** What the engine must say of itself (GET /version): a wrong engine behind the socket fails the file. */
  expectVersion(version: Docker.DockerVersion): void
  /** doctor's engine line, and other lines its first run must show (the controls of the engine's own failures). */
  doctorEngine: RegExp
  doctorLines?: RegExp[]
  /** The CLI runs as this user (a rootless engine's own), in a directory it owns. */
  user?: {uid: number; gid: number; home: string}
}

export interface CoreSet {
  readonly engine: Docker
  readonly root: string
  readonly dir: string
  readonly project: string
  readonly env: Record<string, string>
  /** The CLI for this stack (its --dir and --project-name added). */
  cli(...args: string[]): Promise<CliResult>
  /** The CLI as it is (for commands without a stack: swarm up), with the same environment and user. */
  bare(...args: string[]): Promise<CliResult>
  ok(...args: string[]): Promise<CliResult>
  visit(): Promise<number>
}

/** Registers the core set's hooks and tests in the calling describe(); `more` adds the engine's own. */
export function coreSet(under: EngineUnderTest, more: (set: CoreSet) => void = () => {}): void {
  const engine = new Docker({socketPath: under.socket})
  const root = mkdtempSync(path.join(tmpdir(), 'stackctl-engine-'))
  const dir = path.join(root, 'stack')
  const project = uniqueName('eng')
  const env: Record<string, string> = {
    DOCKER_HOST: `unix://${under.socket}`,
    STACKCTL_IMAGE_SOURCE: 'local',
    STACKCTL_STATE_DIR: path.join(root, 'state'),
    ...(under.user ? {HOME: under.user.home} : {}),
  }
  let port = 0
  const user = under.user ? {uid: under.user.uid, gid: under.user.gid} : undefined
  const bare = (...args: string[]) => runCli(args, {env, user})
  const cli = (...args: string[]) => bare(...args, '--dir', dir, '--project-name', project)
  const ok = async (...args: string[]) => {
    const result = await cli(...args)
    expect(result.exitCode, `${args.join(' ')}\n${result.stderr}\n${result.stdout}`).to.equal(0)
    return result
  }
  const visit = async (): Promise<number> => {
    const response = await fetch(`http://127.0.0.1:${port}/`)
    expect(response.status).to.equal(200)
    return ((await response.json()) as {visits: number}).visits
  }
  const set: CoreSet = {engine, root, dir, project, env, cli, bare, ok, visit}

  before(async () => {
    try {
      under.expectVersion(await engine.version())
    } catch (error) {
      throw new Error(`no ${under.title} API on ${under.socket}: run ${under.provision} first (${String(error)})`)
    }
    if (under.user) {
      // The stack directory and the state are the engine user's, as when that user runs stackctl.
      chownSync(root, under.user.uid, under.user.gid)
      mkdirSync(env.STACKCTL_STATE_DIR)
      chownSync(env.STACKCTL_STATE_DIR, under.user.uid, under.user.gid)
    }
    port = await freePort()
  })

  after(async () => {
    try {
      await cli('down', '--volumes', '--force')
    } finally {
      await removeProject(engine, project)
      rmSync(root, {recursive: true, force: true})
    }
  })

  it(`up starts the stack on ${under.title} and the API counts visits; doctor names the engine`, async () => {
    await ok('up', '--port', String(port))
    expect(await visit()).to.equal(1)
    expect(await visit()).to.equal(2)
    const doctor = await ok('doctor')
    expect(doctor.stdout).to.match(under.doctorEngine)
    for (const line of under.doctorLines ?? []) expect(doctor.stdout).to.match(line)
    const containers = await engine.listContainers({filters: {label: [`com.docker.compose.project=${project}`]}})
    expect(containers.map((c) => c.Labels['com.docker.compose.service']).sort()).to.deep.equal(['app', 'db'])
  })

  it('status --check passes while both services are ready', async () => {
    const status = await ok('status', '--check')
    expect(status.stdout).to.match(/^db +running \(healthy\)$/m)
    expect(status.stdout).to.match(/^app +running \(healthy\)$/m)
  })

  for (const mode of ['down', 'recreate', 'kill']) {
    it(`verify-persistence --mode ${mode} passes`, async () => {
      const result = await ok('verify-persistence', '--mode', mode, '--visits', '40', '--json')
      const report = JSON.parse(result.stdout) as {passed: boolean; reasons: string[]}
      expect(report.reasons).to.deep.equal([])
      expect(report.passed).to.equal(true)
    })
  }

  it('backs up, restores the backup (the visits since are gone, as asked), and counts on', async () => {
    const file = path.join(root, 'engine.dump')
    const backup = JSON.parse((await ok('volume', 'backup', file, '--json')).stdout) as {visits: number}
    expect(backup.visits).to.be.greaterThan(2)
    await visit()
    const restored = JSON.parse((await ok('volume', 'restore', file, '--force', '--json')).stdout) as {visits: number}
    expect(restored.visits).to.equal(backup.visits)
    expect(await visit()).to.equal(backup.visits + 1)
  })

  it('down keeps the volume; up again continues the count', async () => {
    const before = await visit()
    await ok('down')
    const volumes = (await engine.listVolumes({filters: {label: [`com.docker.compose.project=${project}`]}})).Volumes
    expect((volumes ?? []).map((v) => v.Name)).to.deep.equal([`${project}_postgres_data`])
    await ok('up')
    expect(await visit()).to.equal(before + 1)
  })

  more(set)
}

/** `swarm up` and `up --target swarm` are refused with the reason (exit 2) before anything is created. */
export function refusesSwarm(set: CoreSet, reason: RegExp): void {
  it('refuses a swarm (swarm up, up --target swarm) with the reason, creating nothing', async () => {
    const name = `${set.project}-sw`
    const swarmUp = await set.bare('swarm', 'up', '--name', name)
    expect(swarmUp.exitCode, swarmUp.stderr).to.equal(2)
    expect(swarmUp.stderr).to.match(reason)
    expect(swarmUp.stderr).to.include('on this engine the stack runs with Compose: stackctl up')
    expect(await set.engine.listContainers({all: true, filters: {label: [`io.stackctl.swarm=${name}`]}})).to.deep.equal(
      [],
    )
    const deploy = await set.cli('up', '--target', 'swarm')
    expect(deploy.exitCode, deploy.stderr).to.equal(2)
    expect(deploy.stderr).to.match(reason)
    expect(deploy.stderr).to.include(`on this engine the stack runs with Compose: stackctl up --dir ${set.dir}`)
    expect(existsSync(path.join(set.dir, 'stack.yml'))).to.equal(false)
  })
}
