/**
 * A stack directory knows whose stack it is, and stackctl acts on nothing else (issue: data safety first):
 * a lost or broken stack.json stops every command instead of falling back to the default project; a Compose
 * project or volume that stackctl did not create is never stopped, called empty or deleted; the password is
 * checked against the database in the volume; symbolic links are never followed where stackctl writes; and
 * what the stack exposes beyond this machine is said out loud. Real engine, real Compose, real PostgreSQL.
 */
import {expect} from 'chai'
import {execFileSync} from 'node:child_process'
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {freePort, runCli, type CliResult, NO_WAL_ARCHIVE} from '../helpers/cli.js'
import {docker, psqlIn, removeComposeProject, uniqueName, volumeExists} from '../helpers/docker.js'

const NO_TRACE = /\n\s+at .+:\d+:\d+/

function expectRefused(result: CliResult, pattern: RegExp): void {
  expect(result.exitCode, result.stderr).to.equal(2)
  expect(result.stderr).to.match(pattern)
  expect(result.stderr).to.not.match(NO_TRACE)
  // No advice may destroy data.
  expect(result.stderr).to.not.match(/down --volumes|delete the volume|docker volume rm/)
}

describe('stack identity and ownership (integration)', function () {
  this.timeout(600_000)
  const root = mkdtempSync(path.join(tmpdir(), 'stackctl-identity-'))
  const project = uniqueName('ident')
  const volume = `${project}_postgres_data`
  const dir = path.join(root, 'stack')
  const stateFile = path.join(dir, 'stack.json')
  let port: number

  const cli = (args: string[], env: Record<string, string> = {}) =>
    runCli(args, {env: {STACKCTL_IMAGE_SOURCE: 'local', ...env}})
  const inDir = (...args: string[]) => cli([...args, '--dir', dir])

  before(async () => {
    port = await freePort()
    mkdirSync(dir)
    // This file's subject is not WAL archiving (on by default): its shared stack runs without it (NO_WAL_ARCHIVE);
    // the stacks a test makes in other directories keep the default.
    const up = await cli(['up', NO_WAL_ARCHIVE, '--dir', dir, '--project-name', project, '--port', String(port)])
    expect(up.exitCode, up.stderr).to.equal(0)
    const visit = await fetch(`http://127.0.0.1:${port}/`)
    expect(visit.status).to.equal(200)
  })

  after(async () => {
    await removeComposeProject(project)
    rmSync(root, {recursive: true, force: true})
  })

  it('labels every container, the network and the volume with the stack id that stack.json holds', async () => {
    const {stackId} = JSON.parse(readFileSync(stateFile, 'utf8'))
    expect(stackId).to.match(/^[0-9a-f]{16}$/)
    const containers = await docker.listContainers({filters: {label: [`com.docker.compose.project=${project}`]}})
    expect(containers).to.have.length(2)
    for (const c of containers) {
      expect(c.Labels).to.include({'io.stackctl.stack-id': stackId, 'io.stackctl.project': project})
      expect(c.Labels['io.stackctl.dir']).to.equal(dir)
    }
    const vol = await docker.getVolume(volume).inspect()
    expect(vol.Labels).to.include({'io.stackctl.stack-id': stackId, 'io.stackctl.project': project})
    const [network] = await docker.listNetworks({filters: {name: [`${project}_default`]}})
    expect(network.Labels).to.include({'io.stackctl.stack-id': stackId})
  })

  for (const [what, content] of [
    ['missing', undefined],
    ['null', 'null'],
    ['a string', '"stackctl"'],
    ['not JSON', '{"settings": '],
  ] as const) {
    it(`stops every command when stack.json is ${what}, and down --volumes --force deletes nothing`, async () => {
      const saved = readFileSync(stateFile)
      if (content === undefined) rmSync(stateFile)
      else writeFileSync(stateFile, content)
      try {
        for (const args of [['status'], ['down', '--volumes', '--force'], ['up'], ['volume', 'inspect']]) {
          const result = await inDir(...args)
          expectRefused(result, /stack\.json .*so stackctl cannot tell which stack this directory belongs to/)
          expect(result.stderr, args.join(' ')).to.include(
            `--project-name ${content === undefined ? project : 'NAME'} --adopt`,
          )
        }
        expect(await volumeExists(volume)).to.equal(true)
        const running = await docker.listContainers({filters: {label: [`com.docker.compose.project=${project}`]}})
        expect(running).to.have.length(2)
      } finally {
        writeFileSync(stateFile, saved)
      }
    })
  }

  it('refuses to act on this project from another directory (no fallback to whatever the project holds)', async () => {
    const other = path.join(root, 'elsewhere')
    const down = await cli(['down', '--volumes', '--force', '--dir', other, '--project-name', project])
    expectRefused(down, new RegExp(`project '${project}' on this engine is not this stack's`))
    expect(down.stderr).to.include(`work on it with --dir ${dir}`)
    expect(await volumeExists(volume)).to.equal(true)
    expectRefused(await cli(['status', '--dir', other, '--project-name', project]), /belongs to another stackctl stack/)
  })

  it('refuses a --project-name that is not the directory’s own', async () => {
    expectRefused(
      await inDir('down', '--project-name', `${project}x`),
      new RegExp(`stack directory of project '${project}'`),
    )
  })

  it('re-attaches a directory whose stack.json was lost only with --project-name and --adopt, checking the password against the volume', async () => {
    const saved = readFileSync(stateFile)
    const password = path.join(dir, 'secrets', 'db_password')
    const original = readFileSync(password)
    try {
      rmSync(stateFile)
      const down = await inDir('down')
      expectRefused(down, /stack\.json is missing/)
      // A wrong password file cannot be smuggled in through the re-attach: the volume decides.
      writeFileSync(password, 'not-the-password')
      const wrong = await inDir('up', '--project-name', project, '--port', String(port), '--adopt')
      expectRefused(wrong, /does not match the password of the database in volume/)
      expect(wrong.stderr).to.include('checked against the running database')
      writeFileSync(password, original)
      const right = await inDir('up', '--project-name', project, '--port', String(port), '--adopt')
      expect(right.exitCode, right.stderr).to.equal(0)
      expect(right.stderr).to.include('adopting')
      const visit = (await (await fetch(`http://127.0.0.1:${port}/`)).json()) as {visits: number}
      expect(visit.visits).to.be.greaterThan(1) // the data from before, not a new database
      const state = JSON.parse(readFileSync(stateFile, 'utf8'))
      expect(state.adopted.volume).to.equal(volume)
      expect(state.stackId).to.not.equal(JSON.parse(saved.toString()).stackId)
      const status = await inDir('status', '--json')
      expect(status.exitCode, status.stderr).to.equal(0)
    } finally {
      writeFileSync(password, original)
    }
  })

  it('refuses a password file that is a symbolic link, and leaves the link’s target untouched', async () => {
    const password = path.join(dir, 'secrets', 'db_password')
    const original = readFileSync(password)
    const decoy = path.join(root, 'decoy-shadow')
    writeFileSync(decoy, original, {mode: 0o640})
    const before = statSync(decoy)
    renameSync(password, `${password}.saved`)
    symlinkSync(decoy, password)
    try {
      const up = await inDir('up')
      expectRefused(up, /refusing to use .*db_password: it is a symbolic link/)
      const doctor = await inDir('doctor')
      expect(doctor.exitCode).to.equal(1)
      expect(doctor.stdout).to.match(/FAIL\s+secret\s+.*db_password is a symbolic link/)
      const after = statSync(decoy)
      expect({mode: after.mode, uid: after.uid}).to.deep.equal({mode: before.mode, uid: before.uid})
    } finally {
      rmSync(password)
      renameSync(`${password}.saved`, password)
    }
  })

  it('refuses a secrets directory that is a symbolic link', async () => {
    const secrets = path.join(dir, 'secrets')
    const elsewhere = path.join(root, 'elsewhere-secrets')
    renameSync(secrets, elsewhere)
    symlinkSync(elsewhere, secrets)
    const modeBefore = statSync(elsewhere).mode
    try {
      chmodSync(elsewhere, 0o755)
      expectRefused(await inDir('up'), /refusing to use .*secrets: it is a symbolic link/)
      expect(statSync(elsewhere).mode & 0o777).to.equal(0o755)
    } finally {
      rmSync(secrets)
      renameSync(elsewhere, secrets)
      chmodSync(secrets, modeBefore & 0o777)
    }
  })

  it('warns in up, status and doctor when the API is published beyond loopback or an override publishes the db', async () => {
    const override = path.join(dir, 'docker-compose.override.yml')
    writeFileSync(override, 'services:\n  db:\n    ports: ["127.0.0.1:0:5432"]\n')
    try {
      const up = await inDir('up')
      expect(up.exitCode, up.stderr).to.equal(0)
      expect(up.stderr).to.include('warning: docker-compose.override.yml publishes the database')
      const status = await inDir('status', '--json')
      expect(JSON.parse(status.stdout).compose.warnings).to.have.length(1)
      const doctor = await inDir('doctor')
      expect(doctor.stdout).to.match(/warn\s+exposure\s+docker-compose\.override\.yml publishes the database/)
    } finally {
      rmSync(override)
    }
    const wide = await inDir('up', '--host', '0.0.0.0')
    expect(wide.exitCode, wide.stderr).to.equal(0)
    expect(wide.stderr).to.include(`warning: the API is published on 0.0.0.0:${port}`)
    expect(wide.stdout).to.include(`http://127.0.0.1:${port}`) // a URL that opens
    // Remembered for the next run, and still said every time.
    const status = await inDir('status')
    expect(status.stdout).to.include(`warning  the API is published on 0.0.0.0:${port}`)
    expect(status.stdout).to.include(`settings --host 0.0.0.0 --port ${port}`)
    const again = await inDir('up')
    expect(again.stderr).to.include('using --host 0.0.0.0 remembered from the last run (pass --host to change it)')
    const back = await inDir('up', '--host', '127.0.0.1')
    expect(back.exitCode, back.stderr).to.equal(0)
    expect(back.stderr).to.not.include('warning:')
  })

  describe('a Compose project of the same name that stackctl did not create', () => {
    const foreign = uniqueName('foreign')
    const foreignDir = path.join(root, 'foreign-compose')
    const foreignVolume = `${foreign}_postgres_data`
    const mine = path.join(root, 'mine')

    before(async () => {
      mkdirSync(foreignDir)
      writeFileSync(
        path.join(foreignDir, 'compose.yml'),
        [
          'services:',
          '  app:',
          '    image: stackctl/node:20',
          '    command: ["node", "-e", "setInterval(() => {}, 1000)"]',
          '    volumes: [postgres_data:/data]',
          'volumes:',
          '  postgres_data: {}',
          '',
        ].join('\n'),
      )
      execFileSync('docker', ['compose', '-p', foreign, '-f', path.join(foreignDir, 'compose.yml'), 'up', '-d'], {
        stdio: 'pipe',
      })
      await writeForeignFile(foreign)
    })

    after(() => removeComposeProject(foreign))

    /** Someone's file on their volume: it must still be there after everything below. */
    async function writeForeignFile(name: string) {
      const [app] = await docker.listContainers({filters: {label: [`com.docker.compose.project=${name}`]}})
      const exec = await docker
        .getContainer(app.Id)
        .exec({Cmd: ['sh', '-c', 'echo precious > /data/file'], AttachStdout: true})
      const stream = await exec.start({})
      await new Promise((resolve) => stream.on('end', resolve).resume())
    }

    async function foreignState() {
      const containers = await docker.listContainers({filters: {label: [`com.docker.compose.project=${foreign}`]}})
      return {running: containers.length, volume: await volumeExists(foreignVolume)}
    }

    it('is not stopped, adopted or deleted by down, and up refuses to take it over', async () => {
      const down = await cli(['down', '--volumes', '--force', '--dir', mine, '--project-name', foreign])
      expectRefused(down, /was not created by stackctl/)
      expect(down.stderr).to.include('--adopt')
      const up = await cli([
        'up',
        NO_WAL_ARCHIVE,
        '--dir',
        mine,
        '--project-name',
        foreign,
        '--port',
        String(await freePort()),
      ])
      expectRefused(up, /was not created by stackctl/)
      expect(await foreignState()).to.deep.equal({running: 1, volume: true})
    })

    it('is reported by doctor as not this stack’s (never "empty"), with advice that deletes nothing', async () => {
      const doctor = await cli(['doctor', '--dir', mine, '--project-name', foreign])
      expect(doctor.exitCode).to.equal(1)
      expect(doctor.stdout).to.match(/FAIL\s+owner\s+.*was not created by stackctl/)
      expect(doctor.stdout).to.not.match(/\bempty\b/)
      expect(doctor.stdout).to.not.match(/down --volumes|delete the volume/)
      expect(await foreignState()).to.deep.equal({running: 1, volume: true})
    })
  })

  it('keeps the data through all of the above', async () => {
    expect(Number(await psqlIn(project, 'SELECT count(*) FROM visits'))).to.be.greaterThan(1)
  })
})
