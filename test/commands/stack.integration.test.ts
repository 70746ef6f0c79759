/**
 * The product's core path against the real engine: stackctl up / down / status / render with real Compose,
 * real PostgreSQL on a named volume and real HTTP. One stack per file (unique project name, own stack
 * directory, free port), removed in the after hook even when a test fails.
 */
import {expect} from 'chai'
import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {freePort, runCli, type CliResult} from '../helpers/cli.js'
import {docker, engine, psqlIn, removeComposeProject, uniqueName} from '../helpers/docker.js'

interface Visit {
  message: string
  visits: number
  visit: {id: number; visitedAt: string}
}

describe('stack lifecycle (integration)', function () {
  this.timeout(600_000)
  const project = uniqueName('stack')
  const volume = `${project}_postgres_data`
  const dir = mkdtempSync(path.join(tmpdir(), 'stackctl-stack-'))
  let port: number
  let url: string
  const outputs: CliResult[] = []

  async function cli(...args: string[]): Promise<CliResult> {
    const result = await runCli([...args, '--dir', dir, '--project-name', project], {
      env: {STACKCTL_IMAGE_SOURCE: 'local'},
    })
    outputs.push(result)
    return result
  }

  async function up(): Promise<CliResult> {
    const result = await cli('up', '--port', String(port))
    expect(result.exitCode, result.stderr).to.equal(0)
    return result
  }

  async function visit(): Promise<Visit> {
    const response = await fetch(`${url}/`)
    expect(response.status).to.equal(200)
    return (await response.json()) as Visit
  }

  async function dbContainer() {
    const [db] = await docker.listContainers({
      all: true,
      filters: {label: [`com.docker.compose.project=${project}`, 'com.docker.compose.service=db']},
    })
    return db
  }

  before(async () => {
    port = await freePort()
    url = `http://127.0.0.1:${port}`
  })

  after(async () => {
    await removeComposeProject(project)
    rmSync(dir, {recursive: true, force: true})
  })

  it('starts healthy, counts visits 1, 2, 3 and prints the URL', async () => {
    const result = await up()
    expect(result.stdout).to.include(url)
    const counts = [(await visit()).visits, (await visit()).visits, (await visit()).visits]
    expect(counts).to.deep.equal([1, 2, 3])
  })

  it('returns the documented visit shape', async () => {
    const body = await visit()
    expect(body.message).to.be.a('string').and.not.be.empty
    expect(body.visit.id).to.be.a('number')
    expect(Number.isInteger(body.visit.id)).to.equal(true)
    expect(new Date(body.visit.visitedAt).toISOString()).to.equal(body.visit.visitedAt)
    expect(body.visits).to.equal(4)
  })

  it('reports status as JSON with both services healthy and the volume present', async () => {
    const result = await cli('status', '--json')
    expect(result.exitCode, result.stderr).to.equal(0)
    const {compose, ...status} = JSON.parse(result.stdout)
    // Archiving is on by default for a new stack on the local images: doctor's judgement, whatever its numbers.
    const {archiving, backups, ...detail} = compose
    expect(archiving).to.deep.include({status: 'ok', fix: null})
    // And scheduled backups, by default a diff a day and a full a week: none due yet on a new stack.
    expect(backups).to.deep.equal({
      status: 'ok',
      detail: 'diff every 1d, full every 7d, the newest 2 scheduled fulls kept; none taken yet',
      fix: null,
    })
    expect(archiving.detail).to.match(/^last archived [0-9A-F]{24}\S* \d+ s ago, 0 failed attempts/)
    expect({...status, compose: detail}).to.deep.equal({
      schemaVersion: 2,
      target: 'compose',
      project,
      url,
      healthy: true,
      services: [
        {name: 'db', state: 'running', health: 'healthy', replicas: null},
        {name: 'app', state: 'running', health: 'healthy', replicas: null},
      ],
      volume: {name: volume},
      compose: {
        dbUrl: null,
        mode: 'normal',
        volume: {exists: true, pgMajor: 17, superseded: []},
        warnings: [],
        settings: {host: '127.0.0.1', port, dbPort: null, pgMajor: 17, imageSource: 'local'},
        problems: [],
      },
      swarm: null,
    })
  })

  it('is idempotent: up on the running stack recreates nothing', async () => {
    const before = (await docker.listContainers({filters: {label: [`com.docker.compose.project=${project}`]}})).map(
      (c) => c.Id,
    )
    await up()
    const after = (await docker.listContainers({filters: {label: [`com.docker.compose.project=${project}`]}})).map(
      (c) => c.Id,
    )
    expect(after.sort()).to.deep.equal(before.sort())
  })

  it('counts exactly under 20 concurrent clients x 100 requests', async () => {
    const start = (await visit()).visits
    const seen: number[] = []
    await Promise.all(
      Array.from({length: 20}, async () => {
        for (let i = 0; i < 100; i++) seen.push((await visit()).visits)
      }),
    )
    expect(seen).to.have.length(2000)
    // Concurrent replies may report the same total (each counts what had committed when it ran), but none
    // can count past what was written.
    expect(Math.max(...seen)).to.be.at.most(start + 2000)
    const final = await visit()
    expect(final.visits).to.equal(start + 2001)
    const rows = await psqlIn(project, 'SELECT count(*) FROM visits')
    expect(Number(rows)).to.equal(final.visits)
  })

  it('serves 503 while the database is down and recovers by itself', async () => {
    const db = docker.getContainer((await dbContainer()).Id)
    const appBefore = await appContainerId()
    await db.stop({t: 10})
    const health = await fetch(`${url}/healthz`)
    expect(health.status).to.equal(503)
    const during = await fetch(`${url}/`)
    expect(during.status).to.equal(503)
    expect(await during.json()).to.have.property('error')
    // The truth from status and doctor while the db is down: named, with what to run, and a failing check.
    const reported = await cli('status', '--json')
    expect(reported.exitCode).to.equal(0)
    expect(JSON.parse(reported.stdout).compose.problems).to.deep.equal([
      `db is exited: run stackctl up --dir ${dir} --project-name ${project} to start it ` +
        `(stackctl logs db --dir ${dir} --project-name ${project} says why it stopped)`,
    ])
    expect((await cli('status', '--check')).exitCode).to.equal(1)
    const doctor = await cli('doctor', '--port', String(port))
    expect(doctor.exitCode).to.equal(1)
    expect(doctor.stdout).to.match(/FAIL\s+stack\s+db is exited/)
    await db.start()
    const deadline = Date.now() + 60_000
    let status = 0
    while (Date.now() < deadline) {
      status = (await fetch(`${url}/`).catch(() => ({status: 0}))).status
      if (status === 200) break
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
    expect(status).to.equal(200)
    expect(await appContainerId()).to.equal(appBefore) // recovered without being restarted
  })

  it('keeps the password out of the compose file, docker inspect and CLI output', async () => {
    const password = readFileSync(path.join(dir, 'secrets', 'db_password'), 'utf8')
    expect(password.length).to.be.greaterThan(20)
    const compose = readFileSync(path.join(dir, 'docker-compose.yml'), 'utf8')
    expect(compose).to.not.include(password)
    const containers = await docker.listContainers({filters: {label: [`com.docker.compose.project=${project}`]}})
    expect(containers).to.have.length(2)
    for (const c of containers) {
      const inspected = JSON.stringify(await docker.getContainer(c.Id).inspect())
      expect(inspected).to.not.include(password)
    }
    for (const output of outputs) expect(output.stdout + output.stderr).to.not.include(password)
    // control: the password did reach the containers, as a secret file only
    const db = await dbContainer()
    const mounted = await engine.containers.exec(db.Id, ['cat', '/run/secrets/db_password'])
    expect(mounted.stdout).to.equal(password)
  })

  it('renders a compose file that docker compose config accepts', async () => {
    execFileSync('docker', [
      'compose',
      '--project-directory',
      dir,
      '-f',
      path.join(dir, 'docker-compose.yml'),
      'config',
      '-q',
    ])
  })

  it("believes the API now over the engine's last check: a db that refuses connections is reported at once", async () => {
    // The engine checks once a minute and needs three failures: for minutes it still calls the app healthy.
    const appHealth = async () => (await docker.getContainer(await appContainerId()).inspect()).State.Health?.Status
    // Its first check comes a minute after the start (this file's up): until then it says starting.
    const settled = Date.now() + 120_000
    while ((await appHealth()) === 'starting' && Date.now() < settled) {
      await new Promise((resolve) => setTimeout(resolve, 1000))
    }
    expect(await appHealth()).to.equal('healthy')
    await psqlIn(project, 'ALTER DATABASE visits ALLOW_CONNECTIONS false', 'postgres')
    try {
      await psqlIn(
        project,
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = 'visits' AND pid <> pg_backend_pid()",
        'postgres',
      )
      const deadline = Date.now() + 20_000
      let healthz = 200
      while (healthz !== 503 && Date.now() < deadline) {
        healthz = (await fetch(`${url}/healthz`)).status
        if (healthz !== 503) await new Promise((resolve) => setTimeout(resolve, 250))
      }
      expect(healthz, 'GET /healthz once the db refuses connections').to.equal(503)
      expect(await appHealth(), "the engine's word, from its last check").to.equal('healthy')

      const reported = await cli('status', '--json')
      expect(reported.exitCode, reported.stderr).to.equal(0)
      const status = JSON.parse(reported.stdout)
      expect(status.healthy).to.equal(false)
      expect(status.services.find((s: {name: string}) => s.name === 'app')).to.include({health: 'unhealthy'})
      expect(status.compose.problems.join('\n')).to.match(
        /app is running but unhealthy \(stackctl's probe just now: db unavailable: .*not currently accepting connections/,
      )
      expect((await cli('status', '--check')).exitCode).to.equal(1)
      const doctor = await cli('doctor', '--port', String(port))
      expect(doctor.exitCode).to.equal(1)
      expect(doctor.stdout).to.match(/FAIL\s+stack\s+app is running but unhealthy/)
    } finally {
      await psqlIn(project, 'ALTER DATABASE visits ALLOW_CONNECTIONS true', 'postgres')
    }
    // And once the db takes connections again, the same commands say so.
    const deadline = Date.now() + 30_000
    while ((await fetch(`${url}/healthz`)).status !== 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
    expect((await cli('status', '--check')).exitCode).to.equal(0)
  })

  it('keeps the volume on down, and the count continues after up', async () => {
    const before = (await visit()).visits
    const down = await cli('down')
    expect(down.exitCode, down.stderr).to.equal(0)
    expect(down.stdout).to.include(`volume ${volume} kept`)
    expect(
      await docker.listContainers({all: true, filters: {label: [`com.docker.compose.project=${project}`]}}),
    ).to.have.length(0)
    await docker.getVolume(volume).inspect() // throws when gone
    await up()
    expect((await visit()).visits).to.equal(before + 1)
  })

  it('refuses down --volumes without a terminal and without --force, and deletes nothing', async () => {
    const result = await cli('down', '--volumes')
    expect(result.exitCode).to.equal(2)
    expect(result.stderr).to.match(/refusing to delete volume/)
    expect(result.stderr).to.include('--force')
    await docker.getVolume(volume).inspect()
  })

  it('starts from zero after down --volumes --force', async () => {
    const down = await cli('down', '--volumes', '--force')
    expect(down.exitCode, down.stderr).to.equal(0)
    const volumes = (await docker.listVolumes({filters: {name: [volume]}})).Volumes ?? []
    expect(volumes.map((v) => v.Name)).to.not.include(volume)
    const started = await up()
    expect((await visit()).visits).to.equal(1)
    // Archiving is on by default; the archive kept by down holds the deleted cluster, and up says so.
    expect(started.stderr).to.match(
      /warning: WAL archiving fails for this db: \S+_backups holds the archive of another cluster/,
    )
    expect(started.stderr).to.include(`stackctl db restore --latest --dir ${dir} --project-name ${project}`)
  })

  it('refuses to start with a missing password file when the volume exists', async () => {
    const down = await cli('down')
    expect(down.exitCode, down.stderr).to.equal(0)
    const secret = path.join(dir, 'secrets', 'db_password')
    const saved = readFileSync(secret)
    rmSync(secret)
    try {
      const result = await cli('up', '--port', String(port))
      expect(result.exitCode).to.equal(2)
      expect(result.stderr).to.match(/password file .* is missing/)
      await docker.getVolume(volume).inspect()
    } finally {
      writeFileSync(secret, saved, {mode: 0o600})
    }
  })

  it('refuses to start when the password file changed after the volume was initialised', async () => {
    const secret = path.join(dir, 'secrets', 'db_password')
    const saved = readFileSync(secret)
    writeFileSync(secret, 'a-different-password', {mode: 0o600})
    try {
      const result = await cli('up', '--port', String(port))
      expect(result.exitCode).to.equal(2)
      expect(result.stderr).to.match(/password file .* does not match the password of the database in volume/)
      expect(result.stderr).to.include('restore the original')
      expect(result.stderr).to.not.match(/down --volumes|delete the volume/)
      await docker.getVolume(volume).inspect()
    } finally {
      writeFileSync(secret, saved, {mode: 0o600})
    }
    const restored = await cli('up', '--port', String(port))
    expect(restored.exitCode, restored.stderr).to.equal(0)
    expect((await visit()).visits).to.equal(2) // the one visit from before the refusals, plus this one
  })

  async function appContainerId(): Promise<string> {
    const [app] = await docker.listContainers({
      filters: {label: [`com.docker.compose.project=${project}`, 'com.docker.compose.service=app']},
    })
    return app.Id
  }
})
