import {expect} from 'chai'

import {
  baseArgs,
  composeMajor,
  configHashArgs,
  downArgs,
  logsArgs,
  plainLine,
  parseConfigHashes,
  translateComposeFailure,
  mergedConfigArgs,
  networkCreateRaced,
  upArgs,
  ComposeClient,
} from '../../../src/lib/engine/compose-client.js'
import {DockerCli, type RunOptions, type RunResult} from '../../../src/lib/engine/docker-cli.js'
import {ProcessFailed} from '../../../src/lib/errors.js'

const target = {project: 'demo', composeFile: '/s/docker-compose.yml', projectDirectory: '/s'}

describe('compose client arguments', () => {
  it('names the project, directory and file', () => {
    expect(baseArgs(target)).to.deep.equal([
      'compose',
      '--project-name',
      'demo',
      '--project-directory',
      '/s',
      '--file',
      '/s/docker-compose.yml',
    ])
  })

  it('layers the override file after the rendered one', () => {
    expect(baseArgs({...target, overrideFiles: ['/s/docker-compose.override.yml']}).slice(-4)).to.deep.equal([
      '--file',
      '/s/docker-compose.yml',
      '--file',
      '/s/docker-compose.override.yml',
    ])
  })

  it('finds the project by name alone when there is no file', () => {
    expect(baseArgs({...target, composeFile: ''})).to.deep.equal(['compose', '--project-name', 'demo'])
  })

  it('waits for health on up, and never deletes volumes on down unless asked', () => {
    expect(upArgs(target, {waitTimeoutSeconds: 90.5}).slice(7)).to.deep.equal([
      'up',
      '--detach',
      '--wait',
      '--wait-timeout',
      '91',
      '--remove-orphans',
    ])
    // stackctl's own wait (up) leaves Compose to start the containers only.
    expect(upArgs(target, {waitTimeoutSeconds: 90, wait: false}).slice(7)).to.deep.equal([
      'up',
      '--detach',
      '--remove-orphans',
    ])
    expect(upArgs(target, {waitTimeoutSeconds: 1, build: true, forceRecreate: true})).to.include.members([
      '--build',
      '--force-recreate',
    ])
    expect(mergedConfigArgs({...target, overrideFiles: ['/s/docker-compose.override.yml']}).slice(5)).to.deep.equal([
      '--file',
      '-',
      '--file',
      '/s/docker-compose.override.yml',
      'config',
    ])
    expect(downArgs(target)).to.not.include('--volumes')
    expect(downArgs(target, {volumes: true})).to.include('--volumes')
  })

  it('builds logs arguments', () => {
    expect(logsArgs(target, {service: 'db', follow: true, tail: 20}).slice(7)).to.deep.equal([
      'logs',
      '--no-color',
      '--follow',
      '--tail',
      '20',
      'db',
    ])
  })

  it('reads the Compose major version', () => {
    expect(composeMajor('2.26.1-4')).to.equal(2)
    expect(composeMajor('v2.29.7-desktop.1')).to.equal(2)
    expect(composeMajor('1.29.2')).to.equal(1)
    expect(composeMajor('garbage')).to.equal(undefined)
  })

  it('translates "port is already allocated" into a clear error', () => {
    const raw = new ProcessFailed(
      'docker compose up',
      1,
      'Error response from daemon: driver failed programming external connectivity on endpoint demo-app-1: Bind for 127.0.0.1:5000 failed: port is already allocated',
    )
    const translated = translateComposeFailure(raw)
    expect(translated.message).to.include('port 5000 is already in use')
    expect(translated.suggestion).to.include('--port')
  })

  it('names the command that really ran when it translates a failure, not always "up"', () => {
    const raw = new ProcessFailed(
      'docker compose --project-name demo start',
      1,
      'Bind for 0.0.0.0:80 failed: port is already allocated',
    )
    expect(translateComposeFailure(raw).message).to.match(/^docker compose --project-name demo start failed \(exit 1\)/)
    const other = new ProcessFailed('docker compose down', 3, 'something else')
    expect(translateComposeFailure(other)).to.equal(other)
  })

  it('passes --since and --timestamps to logs, and strips terminal control sequences from lines', () => {
    expect(logsArgs(target, {since: '10m', timestamps: true}).slice(7)).to.deep.equal([
      'logs',
      '--no-color',
      '--since',
      '10m',
      '--timestamps',
    ])
    expect(plainLine('\u001b[2K\rContainer demo-db-1  Started\u001b[0m')).to.equal('Container demo-db-1  Started')
  })

  it('asks for the configuration hash of every service', () => {
    expect(configHashArgs(target).slice(7)).to.deep.equal(['config', '--hash', '*'])
  })

  it('reads service hashes and skips anything else', () => {
    const hashes = parseConfigHashes('app 0123abc\ndb 4567def\n\nwarning: something else\n')
    expect([...hashes]).to.deep.equal([
      ['app', '0123abc'],
      ['db', '4567def'],
    ])
  })
})

/** Answers each `compose` call with the next scripted failure (or success once the script runs out). */
class ScriptedDocker extends DockerCli {
  readonly calls: string[][] = []
  constructor(private readonly failures: string[]) {
    super()
  }

  override async compose(args: readonly string[], _options: RunOptions = {}): Promise<RunResult> {
    this.calls.push([...args])
    const stderr = this.failures.shift()
    if (stderr !== undefined) throw new ProcessFailed(`docker ${args.join(' ')}`, 1, stderr)
    return {stdout: '', stderr: '', exitCode: 0}
  }
}

// Seen in CI on rootless Podman while rootful Docker's containers came and went (reproduced: 14 of 2,290
// network creations failed while a veth with an address was added and removed in a loop).
const raced =
  ' Network p_default  Creating\n Network p_default  Error\nfailed to create network p_default: Error response from daemon: route ip+net: no such network interface'

/** What `up` over the scripted engine throws (undefined when it succeeds). */
async function upFailure(docker: ScriptedDocker, runOptions: RunOptions = {}): Promise<unknown> {
  return new ComposeClient(target, docker).up({waitTimeoutSeconds: 5, wait: false}, runOptions).then(
    () => undefined,
    (error: unknown) => error,
  )
}

describe('compose up when the engine raced a host interface change', () => {
  it("recognises Podman's failed subnet choice and nothing else", () => {
    expect(networkCreateRaced(raced)).to.equal(true)
    expect(
      networkCreateRaced('failed to create network p_default: Error response from daemon: permission denied'),
    ).to.equal(false)
    expect(networkCreateRaced('route ip+net: no such network interface')).to.equal(false)
  })

  it('runs the same up again, says so, and succeeds', async () => {
    const docker = new ScriptedDocker([raced])
    const lines: string[] = []
    await new ComposeClient(target, docker).up(
      {waitTimeoutSeconds: 5, wait: false},
      {onLine: (line) => lines.push(line)},
    )
    expect(docker.calls).to.have.length(2)
    expect(docker.calls[1]).to.deep.equal(docker.calls[0])
    expect(lines.join('\n')).to.match(/could not create the project's network.*trying again \(2 of 3\)/)
  })

  it("gives up after three attempts with the engine's own error", async () => {
    const docker = new ScriptedDocker([raced, raced, raced, raced])
    const error = await upFailure(docker)
    expect(error).to.be.instanceOf(ProcessFailed)
    expect(docker.calls).to.have.length(3)
  })

  it('does not retry any other failure', async () => {
    const docker = new ScriptedDocker(['Error response from daemon: pull access denied for x'])
    const error = await upFailure(docker)
    expect(error).to.be.instanceOf(ProcessFailed)
    expect(docker.calls).to.have.length(1)
  })

  it('does not retry once the command was interrupted', async () => {
    const docker = new ScriptedDocker([raced])
    const controller = new AbortController()
    controller.abort()
    const error = await upFailure(docker, {signal: controller.signal})
    expect(error).to.be.instanceOf(ProcessFailed)
    expect(docker.calls).to.have.length(1)
  })
})
