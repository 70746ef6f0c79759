/**
 * The engine's edges that a real engine shows only now and then, through a stand-in for dockerode: the exit
 * code recorded a moment after the output ends, output beyond the bound, a process that stops reading its
 * stdin early, and DOCKER_HOST read by docker-modem alone.
 */
import {expect} from 'chai'
import {Duplex, Readable} from 'node:stream'

import type Docker from 'dockerode'

import {createEngine, describeEngine, engineOver, podmanRootless} from '../../../src/lib/engine/dockerode-engine.js'
import {EngineUnreachable} from '../../../src/lib/errors.js'

function frame(type: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text)
  const header = Buffer.alloc(8)
  header[0] = type
  header.writeUInt32BE(payload.length, 4)
  return Buffer.concat([header, payload])
}

interface FakeExec {
  output: Buffer[]
  /** inspect() answers in turn; the last one repeats. */
  states: Array<{Running: boolean; ExitCode: number | null}>
  /** Stop reading stdin after this many bytes (a process that needs only the head). */
  readsBytes?: number
}

function fakeDocker(fake: FakeExec): Docker {
  let inspections = 0
  return {
    getContainer: () => ({
      exec: async () => ({
        start: async () => {
          let read = 0
          // The exec's hijacked socket: what the process prints comes out, stdin goes in.
          const socket = new Duplex({
            read() {},
            write(chunk: Buffer, _encoding, callback) {
              read += chunk.length
              const full = fake.readsBytes !== undefined && read > fake.readsBytes
              callback(full ? Object.assign(new Error('write EPIPE'), {code: 'EPIPE'}) : null)
            },
          })
          setImmediate(() => {
            for (const chunk of fake.output) socket.push(chunk)
            socket.push(null)
          })
          return socket
        },
        inspect: async () => fake.states[Math.min(inspections++, fake.states.length - 1)],
      }),
    }),
  } as unknown as Docker
}

describe('engine exec (dockerode stand-in)', () => {
  it('waits for the exit code the engine records after the stream ends, instead of guessing 1', async () => {
    const engine = engineOver(
      fakeDocker({
        output: [frame(1, 'ok\n')],
        states: [
          {Running: true, ExitCode: null},
          {Running: false, ExitCode: null},
          {Running: false, ExitCode: 0},
        ],
      }),
      'unix:///fake.sock',
    )
    expect(await engine.containers.exec('c', ['true'])).to.deep.equal({
      exitCode: 0,
      stdout: 'ok\n',
      stderr: '',
      truncated: false,
    })
  })

  it('says when collected output was cut instead of cutting silently', async () => {
    const big = 'x'.repeat(100_000)
    const engine = engineOver(fakeDocker({output: [frame(1, big)], states: [{Running: false, ExitCode: 0}]}), 'x')
    const whole = await engine.containers.exec('c', ['cat'])
    expect(whole.stdout).to.have.length(100_000)
    expect(whole.truncated).to.equal(false)
    const cut = await engine.containers.exec('c', ['cat'], {maxOutputBytes: 1000})
    expect(cut.stdout).to.have.length(1000)
    expect(cut.truncated).to.equal(true)
  })

  it('keeps stderr apart from stdout', async () => {
    const engine = engineOver(
      fakeDocker({output: [frame(2, 'warn\n'), frame(1, 'out\n')], states: [{Running: false, ExitCode: 3}]}),
      'x',
    )
    expect(await engine.containers.exec('c', ['x'])).to.include({exitCode: 3, stdout: 'out\n', stderr: 'warn\n'})
  })
})

describe('engine endpoint', () => {
  it('reads DOCKER_HOST through docker-modem (tcp, unix) and names it when unreachable', async () => {
    const engine = createEngine({DOCKER_HOST: 'tcp://127.0.0.1:9'})
    expect(engine.endpoint).to.equal('tcp://127.0.0.1:9')
    const error = await engine.ping().then(
      () => undefined,
      (caught: unknown) => caught,
    )
    expect(error).to.be.instanceOf(EngineUnreachable)
    expect((error as EngineUnreachable).message).to.include('tcp://127.0.0.1:9')
    expect(createEngine({DOCKER_HOST: 'unix:///nonexistent.sock'}).endpoint).to.equal('unix:///nonexistent.sock')
    expect(createEngine({}).endpoint).to.equal('unix:///var/run/docker.sock')
    // The process's own environment is left as it was.
    expect(process.env.DOCKER_HOST).to.equal(undefined)
  })
})

describe('engine exec with stdin', () => {
  it('fails when the input itself cannot be read, whatever the process did', async () => {
    const engine = engineOver(fakeDocker({output: [], states: [{Running: false, ExitCode: 0}]}), 'x')
    const broken = new Readable({
      read() {
        this.destroy(new Error('EIO: cannot read the backup'))
      },
    })
    const error = await engine.containers.exec('c', ['pg_restore'], {stdin: broken}).then(
      () => undefined,
      (caught: unknown) => caught,
    )
    expect((error as Error).message).to.include('cannot read the backup')
  })
})

describe('the engine as it describes itself (Docker or Podman)', () => {
  const podmanVersion = {
    Version: '4.3.1',
    ApiVersion: '1.41',
    Components: [{Name: 'Podman Engine'}, {Name: 'Conmon'}, {Name: 'OCI Runtime (runc)'}],
  }
  const dockerVersion = {Version: '20.10.24', ApiVersion: '1.41', Components: [{Name: 'Engine'}, {Name: 'containerd'}]}

  it('tells Podman from Docker by its version components, and rootless by its security options', () => {
    expect(
      describeEngine(podmanVersion, {SecurityOptions: ['name=seccomp,profile=default'], CgroupVersion: '1'}),
    ).to.deep.include({kind: 'podman', version: '4.3.1', rootless: false, cgroupVersion: 1})
    expect(
      describeEngine(dockerVersion, {
        SecurityOptions: ['name=seccomp,profile=default', 'name=rootless'],
        CgroupVersion: '2',
      }),
    ).to.deep.include({kind: 'docker', rootless: true, cgroupVersion: 2})
    expect(describeEngine(dockerVersion, {})).to.deep.include({
      kind: 'docker',
      rootless: false,
      cgroupVersion: undefined,
    })
  })

  it("reads rootless Podman from Podman's own /info (its Docker-compatible one never says rootless)", () => {
    // As Podman 4.3.1 answers /v4.0.0/libpod/info, trimmed; run as a user, then as root.
    const security = {apparmorEnabled: false, rootless: true, seccompEnabled: true}
    expect(podmanRootless({host: {security}})).to.equal(true)
    expect(podmanRootless({host: {security: {...security, rootless: false}}})).to.equal(false)
    expect(podmanRootless({})).to.equal(false)
  })

  /** A dockerode stand-in answering the container list, inspect and version as Podman 4.3 or Docker does. */
  function listingEngine(podman: boolean) {
    const inspected: string[] = []
    const docker = {
      version: async () => (podman ? podmanVersion : dockerVersion),
      listContainers: async () => [
        {
          Id: 'db1',
          Names: ['/p-db-1'],
          Labels: {'com.docker.compose.service': 'db'},
          State: 'running',
          Status: podman ? 'Up 2 minutes' : 'Up 2 minutes (healthy)',
        },
        {
          Id: 'app1',
          Names: ['/p-app-1'],
          Labels: {'com.docker.compose.service': 'app'},
          State: 'exited',
          Status: 'Exited (0)',
        },
      ],
      getContainer: (id: string) => ({
        inspect: async () => {
          inspected.push(id)
          return {
            Id: id,
            Name: `/${id}`,
            State: {Running: true, ExitCode: 0, Health: {Status: 'starting', Log: []}},
            Config: {},
            Mounts: [],
            HostConfig: {},
          }
        },
      }),
    } as unknown as Docker
    return {engine: engineOver(docker, 'unix:///fake.sock'), inspected}
  }

  it("reads a running container's health from inspect on Podman, whose list leaves it out", async () => {
    const {engine, inspected} = listingEngine(true)
    const list = await engine.containers.list({project: 'p'})
    expect(list.map((c) => [c.service, c.health])).to.deep.equal([
      ['app', 'none'],
      ['db', 'starting'],
    ])
    expect(inspected).to.deep.equal(['db1'])
  })

  it('(control) on Docker the list says the health itself: nothing is inspected', async () => {
    const {engine, inspected} = listingEngine(false)
    const list = await engine.containers.list({project: 'p'})
    expect(list.map((c) => [c.service, c.health])).to.deep.equal([
      ['app', 'none'],
      ['db', 'healthy'],
    ])
    expect(inspected).to.deep.equal([])
  })
})
