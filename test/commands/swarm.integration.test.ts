// @group swarm
/**
 * The swarm target on a real 3-node swarm: only what needs real nodes (API replicas answering from several
 * nodes, the db task killed, a node drained, data kept across down/up and a host restart, the volume read
 * through the db's node). Plans, refusals and judgements are unit tests over the stub swarm (test/lib/cluster,
 * test/lib/targets/swarm). One swarm is shared by the file (made in the root `before`, removed in `after` even when a
 * test failed), but no test relies on another's leftovers: each `describe` states what it needs in its
 * `before` (`deployedAndHealthy` deploys or waits as needed), so `--grep` on any single test passes alone.
 */
import {expect} from 'chai'
import {existsSync} from 'node:fs'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {freePort, runCli, spawnCli, type CliResult} from '../helpers/cli.js'
import {docker, removeSwarmLeftovers, swarmDiagnosis, uniqueName} from '../helpers/docker.js'

interface Reply {
  visits: number
  host: string
  visit: {id: number}
}

interface SwarmStatus {
  up: boolean
  endpoint: string
  nodes: Array<{name: string; address: string; state: string}>
}

/** status --target swarm --json: the shape Compose's status has (schemaVersion 2), with the swarm's detail. */
interface StackStatus {
  healthy: boolean
  services: Array<{name: string; replicas: string | null}>
  swarm: {
    deployed: boolean
    dbNode: string
    tasks: Array<{service: string; node: string; state: string; health: string}>
  }
}

/** Each service's running/wanted replicas, by name. */
function replicasOf(status: StackStatus | undefined): Record<string, string | null> | undefined {
  return status && Object.fromEntries(status.services.map((s) => [s.name, s.replicas]))
}

/** verify-persistence --json, the same shape as for Compose (schemaVersion 2), with the swarm's db nodes. */
interface CheckResult {
  schemaVersion: number
  passed: boolean
  mode: string
  attempted: number
  acknowledged: number
  missingCount: number
  reasons: string[]
  swarm: {disruption: string; dbNodeBefore: string; dbNodeAfter: string}
}

function expectExit(result: CliResult, code: number): void {
  expect(result.exitCode, `exit code; stderr:\n${result.stderr}\nstdout:\n${result.stdout}`).to.equal(code)
}

async function visit(url: string): Promise<Reply> {
  const response = await fetch(`${url}/`, {signal: AbortSignal.timeout(20_000)})
  expect(response.status, `GET ${url}/`).to.equal(200)
  return (await response.json()) as Reply
}

describe('swarm up interrupted (integration, a swarm of its own)', function () {
  this.timeout(300_000)
  const other = uniqueName('swt')

  after(async function () {
    this.timeout(300_000)
    await removeSwarmLeftovers(other)
  })

  it('swarm up interrupted (SIGTERM): exit 130, and what it had created is removed', async () => {
    const run = spawnCli(['swarm', 'up', '--name', other, '--port', String(await freePort())])
    const deadline = Date.now() + 60_000
    while (!run.output.stderr.includes('node image:') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    run.child.kill('SIGTERM')
    const result = await run.result
    expectExit(result, 130)
    expect(result.stderr).to.match(/interrupted: swarm '.*' was not created/)
    const label = `io.stackctl.swarm=${other}`
    expect(await docker.listContainers({all: true, filters: {label: [label]}})).to.deep.equal([])
    expect((await docker.listVolumes({filters: {label: [label]}})).Volumes ?? []).to.deep.equal([])
    expect(await docker.listNetworks({filters: {label: [label]}})).to.deep.equal([])
  })
})

describe('swarm flags on the command line (integration, no swarm needed)', function () {
  let root = ''
  before(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'swt-flags-'))
  })
  after(async () => {
    await rm(root, {recursive: true, force: true})
  })

  it('refuses swarm flags without --target swarm, and bad values, changing nothing (exit 2)', async () => {
    const dir = path.join(root, 'stack')
    const project = uniqueName('swt')
    const stray = await runCli(['up', '--replicas', '3', '--dir', dir, '--project-name', project])
    expectExit(stray, 2)
    expect(stray.stderr).to.match(/--replicas only apply to --target swarm/)
    const bad = await runCli(['up', '--target', 'swarm', '--replicas', '0', '--dir', dir, '--project-name', project])
    expectExit(bad, 2)
    expect(existsSync(dir), 'the stack directory').to.equal(false)
    expect(
      await docker.listContainers({all: true, filters: {label: [`com.docker.compose.project=${project}`]}}),
    ).to.deep.equal([])
  })
})

describe('stackctl on a 3-node swarm (integration)', function () {
  this.timeout(900_000)
  const swarm = uniqueName('swt')
  const project = uniqueName('swt')
  let port = 0
  let dir = ''
  let url = ''
  let nodeUrls: string[] = []
  let manager = ''
  // The swarm is named explicitly: another local swarm on this engine must not make the target ambiguous.
  const cli = (args: string[]) =>
    runCli([
      ...args,
      '--dir',
      dir,
      '--project-name',
      project,
      ...(args.includes('--target') ? ['--docker-host', manager] : []),
    ])

  async function stackStatus(): Promise<StackStatus | undefined> {
    const result = await cli(['status', '--target', 'swarm', '--json'])
    return result.exitCode === 0 ? (JSON.parse(result.stdout) as StackStatus) : undefined
  }

  /** A deploy that never turned healthy: later tests fail at once, pointing at it, rather than wait it out again. */
  let deployFailure = ''

  /** `up` on the swarm; a failure comes with what the tasks and their containers said. */
  async function deploy(): Promise<CliResult> {
    if (deployFailure) throw new Error(`an earlier deploy of this file's stack failed; see it above:\n${deployFailure}`)
    const up = await cli(['up', '--target', 'swarm', '--replicas', '3', '--port', String(port), '--timeout', '300'])
    if (up.exitCode !== 0) {
      deployFailure = up.stderr.split('\n').slice(-3).join('\n')
      console.error(await swarmDiagnosis(swarm, manager, `${project}_app`))
    }
    return up
  }

  /** The precondition of most tests: the stack deployed, db 1/1 and app 3/3 (one per node), all healthy. */
  async function deployedAndHealthy(): Promise<StackStatus> {
    const current = await stackStatus()
    if (current?.healthy && replicasOf(current)?.db === '1/1' && replicasOf(current)?.app === '3/3') return current
    const up = await deploy()
    expectExit(up, 0)
    const status = await stackStatus()
    expect(replicasOf(status), 'the stack a test starts from').to.deep.equal({db: '1/1', app: '3/3'})
    expect(status?.healthy, 'the stack a test starts from').to.equal(true)
    return status!
  }

  before(async function () {
    this.timeout(600_000)
    port = await freePort()
    dir = path.join(await mkdtemp(path.join(tmpdir(), 'swt-')), 'stack')
    url = `http://127.0.0.1:${port}`
    const up = await runCli(['swarm', 'up', '--name', swarm, '--nodes', '3', '--port', String(port), '--json'])
    expectExit(up, 0)
    const status = JSON.parse(up.stdout) as SwarmStatus
    expect(status.up).to.equal(true)
    expect(status.nodes.map((n) => n.state)).to.deep.equal(['ready', 'ready', 'ready'])
    nodeUrls = status.nodes.map((n) => `http://${n.address}:${port}`)
    manager = status.endpoint
  })

  after(async function () {
    this.timeout(300_000)
    const down = await runCli(['swarm', 'down', '--name', swarm, '--force'])
    // Whatever the CLI did, nothing labelled for this swarm may stay behind.
    await removeSwarmLeftovers(swarm)
    if (dir) await rm(path.dirname(dir), {recursive: true, force: true})
    expectExit(down, 0)
  })

  describe('API replicas on several nodes', () => {
    it('deploys 3 API replicas over the nodes and the db on its pinned node, all healthy', async () => {
      // Idempotent: a first deploy loads the images onto the nodes, a later one finds them there.
      const up = await deploy()
      expectExit(up, 0)
      expect(up.stdout).to.include(`is up on the swarm`)
      expect(up.stdout).to.include(url)
      expect(up.stdout).to.match(/image stackctl-app:\w+ \(\d+ MB\): (loaded onto|already on its nodes)/)
      expect(up.stdout).to.match(/network: (dnsrr \+ host-mode port|VIP \+ routing mesh)/)
      const status = await cli(['status', '--target', 'swarm', '--json'])
      expectExit(status, 0)
      const parsed = JSON.parse(status.stdout) as StackStatus
      expect(parsed.healthy).to.equal(true)
      expect(replicasOf(parsed)).to.deep.equal({db: '1/1', app: '3/3'})
      const app = parsed.swarm.tasks.filter((t) => t.service === 'app')
      expect(new Set(app.map((t) => t.node)).size).to.be.at.least(2)
      expect(app.every((t) => t.state === 'running' && t.health === 'healthy')).to.equal(true)
      expect(parsed.swarm.tasks.find((t) => t.service === 'db')?.node).to.equal(parsed.swarm.dbNode)
      // The password reaches the db as a swarm secret: never the stack file, never the status output.
      const password = (await readFile(path.join(dir, 'secrets', 'db_password'), 'utf8')).trim()
      expect(password.length).to.be.greaterThan(16)
      expect(await readFile(path.join(dir, 'stack.yml'), 'utf8')).not.to.include(password)
      expect(status.stdout + status.stderr).not.to.include(password)
    })

    it('answers from different nodes, each reply naming its node, with one exact count across replicas', async () => {
      await deployedAndHealthy()
      const replies: Reply[] = []
      for (let round = 0; round < 5; round++) {
        for (const nodeUrl of [url, ...nodeUrls]) replies.push(await visit(nodeUrl))
      }
      const hosts = new Set(replies.map((r) => r.host))
      expect([...hosts].every((h) => h.startsWith(`${swarm}-node`))).to.equal(true)
      expect(hosts.size).to.equal(3)
      const totals = replies.map((r) => r.visits)
      expect(totals.slice(1).map((t, i) => t - totals[i])).to.deep.equal(Array(totals.length - 1).fill(1))
    })
  })

  describe('disruptions: the db task killed, a node drained', () => {
    it('db task killed: restarted on the same node, every acknowledged visit kept (verify-persistence --mode kill)', async () => {
      await deployedAndHealthy()
      const before = await visit(url)
      const check = await cli([
        'verify-persistence',
        '--target',
        'swarm',
        '--mode',
        'kill',
        '--visits',
        '120',
        '--json',
      ])
      expectExit(check, 0)
      const result = JSON.parse(check.stdout) as CheckResult
      expect(result).to.include({schemaVersion: 2, passed: true, mode: 'kill', missingCount: 0})
      expect(result.reasons).to.deep.equal([])
      expect(result.swarm.dbNodeAfter).to.equal(result.swarm.dbNodeBefore)
      expect(result.acknowledged).to.be.greaterThan(0)
      expect((await visit(url)).visits).to.be.greaterThan(before.visits + result.acknowledged)
    })

    it('an API node drained: visits keep being served, none fails (verify-persistence --mode drain)', async () => {
      await deployedAndHealthy()
      const check = await cli([
        'verify-persistence',
        '--target',
        'swarm',
        '--mode',
        'drain',
        '--visits',
        '20',
        '--json',
      ])
      expectExit(check, 0)
      const result = JSON.parse(check.stdout) as CheckResult
      expect(result).to.include({passed: true, mode: 'drain', missingCount: 0})
      expect(result.attempted).to.equal(result.acknowledged) // none failed
      expect(result.acknowledged).to.be.at.least(30)
      expect(replicasOf(await stackStatus())?.app).to.equal('3/3')
    })
  })

  describe('persistence across down/up and a host restart', () => {
    after(async function () {
      // A restart test that failed half-way may leave nodes stopped: start them again for the tests after it.
      this.timeout(300_000)
      await runCli(['swarm', 'up', '--name', swarm])
    })

    it('down keeps the volume; up again continues the count', async () => {
      await deployedAndHealthy()
      const last = await visit(url)
      const down = await cli(['down', '--target', 'swarm'])
      expectExit(down, 0)
      expect(down.stdout).to.match(/removed from the swarm; volume \S+_postgres_data kept on/)
      expect((await stackStatus())?.swarm.deployed).to.equal(false)
      const up = await cli(['up', '--target', 'swarm', '--timeout', '300'])
      expectExit(up, 0)
      expect((await visit(url)).visits).to.equal(last.visits + 1)
    })

    it('refuses to remove the swarm while stack data is in its nodes (exit 2), removing nothing', async () => {
      await deployedAndHealthy()
      const down = await runCli(['swarm', 'down', '--name', swarm])
      expectExit(down, 2)
      expect(down.stderr).to.match(/holds stackctl data .*nothing was removed/)
      expectExit(await runCli(['swarm', 'status', '--name', swarm]), 0)
      expect((await stackStatus())?.healthy).to.equal(true)
    })

    it('nodes stopped (a host restart): swarm down refuses unread, swarm up starts them again, the count goes on', async () => {
      await deployedAndHealthy()
      const last = await visit(url)
      const nodes = [3, 2, 1].map((i) => `${swarm}-node${i}`)
      for (const node of nodes) await docker.getContainer(node).stop({t: 10})

      const down = await runCli(['swarm', 'down', '--name', swarm])
      expectExit(down, 2)
      expect(down.stderr).to.match(/has nodes whose volumes cannot be read .*nothing was removed/)
      expect(down.stderr).to.match(/stackctl swarm up --name \S+ starts its stopped nodes again/)
      const label = `io.stackctl.swarm=${swarm}`
      expect(await docker.listContainers({all: true, filters: {label: [label]}})).to.have.length(3)
      expect((await docker.listVolumes({filters: {label: [label]}})).Volumes).to.have.length(3)

      // Node 3 first, as a host bringing back containers in any order would: the manager keeps its address.
      await docker.getContainer(nodes[0]).start()
      const up = await runCli(['swarm', 'up', '--name', swarm, '--json'])
      expectExit(up, 0)
      const status = JSON.parse(up.stdout) as SwarmStatus & {restarted: boolean}
      expect(status.restarted).to.equal(true)
      expect(status.nodes.map((n) => n.state)).to.deep.equal(['ready', 'ready', 'ready'])
      // The stack comes back by itself (swarm services); the first visit after it continues the count.
      let reply: Reply | undefined
      const deadline = Date.now() + 180_000
      while (!reply && Date.now() < deadline) {
        reply = await visit(url).catch(async () => {
          await new Promise((resolve) => setTimeout(resolve, 2000))
          return undefined
        })
      }
      expect(reply?.visits, 'the first visit after the restart').to.equal(last.visits + 1)
      // Every replica comes back too (a host-mode port frees slowly: about 2 minutes measured).
      let stack: StackStatus | undefined
      while (!stack?.healthy && Date.now() < deadline + 120_000) {
        await new Promise((resolve) => setTimeout(resolve, 5000))
        stack = await stackStatus()
      }
      expect(replicasOf(stack), `tasks: ${JSON.stringify(stack?.swarm.tasks)}`).to.deep.equal({db: '1/1', app: '3/3'})
    })
  })

  describe('the data volume through the db’s node', () => {
    let status: StackStatus
    before(async () => {
      status = await deployedAndHealthy()
    })

    it('inspects the data volume on the db’s node, used by the db task, PostgreSQL 17 in it', async () => {
      const inspect = await cli(['volume', 'inspect', '--target', 'swarm', '--json'])
      expectExit(inspect, 0)
      const volume = JSON.parse(inspect.stdout) as {node: string; name: string; usedByDb: boolean; pgVersion: number}
      expect(volume).to.include({
        node: status.swarm.dbNode,
        name: `${project}_postgres_data`,
        usedByDb: true,
        pgVersion: 17,
      })
    })

    it('backs up the database from the db task on its node, with the exact count of its snapshot', async () => {
      const last = await visit(url)
      const file = path.join(path.dirname(dir), 'swarm-backup.dump')
      const backup = await cli(['volume', 'backup', file, '--target', 'swarm', '--json'])
      expectExit(backup, 0)
      const result = JSON.parse(backup.stdout) as {visits: number; pgMajor: number; bytes: number; file: string}
      expect(result).to.include({visits: last.visits, pgMajor: 17, file})
      expect((await readFile(file)).length).to.equal(result.bytes)
      expect(JSON.parse(await readFile(`${file}.json`, 'utf8'))).to.include({project, visits: last.visits})
    })

    it('restores a backup into the db task on its node; the replicas carry on and count on from it', async () => {
      // Its own backup: visits after it are what the restore takes back.
      const file = path.join(path.dirname(dir), 'swarm-restore.dump')
      expectExit(await cli(['volume', 'backup', file, '--target', 'swarm']), 0)
      const {visits: backedUp} = JSON.parse(await readFile(`${file}.json`, 'utf8')) as {visits: number}
      for (let i = 0; i < 3; i++) await visit(url)
      const restore = await cli(['volume', 'restore', file, '--target', 'swarm', '--force', '--json'])
      expectExit(restore, 0)
      expect(JSON.parse(restore.stdout)).to.include({visits: backedUp, visitsBefore: backedUp + 3})
      // Every replica reconnects by itself: the next visits continue from the restored count, on any node.
      const replies: Reply[] = []
      const deadline = Date.now() + 60_000
      while (replies.length < 6 && Date.now() < deadline) {
        const reply = await visit(url).catch(() => undefined)
        if (reply) replies.push(reply)
      }
      expect(replies.map((r) => r.visits)).to.deep.equal(Array.from({length: 6}, (_, i) => backedUp + 1 + i))
    })

    it('shows the services’ logs through the manager', async () => {
      const logs = await cli(['logs', 'db', '--target', 'swarm', '--tail', '50'])
      expectExit(logs, 0)
      expect(logs.stdout).to.match(/database system is ready to accept connections/)
    })
  })

  describe('verify-persistence --mode down and its negative control', () => {
    const override = () => path.join(dir, 'stack.override.yml')
    let overridden = false

    after(async function () {
      // Whatever happened, the stack goes back to its volume: without the override, redeployed.
      this.timeout(600_000)
      if (!overridden) return
      await rm(override(), {force: true})
      await cli(['down', '--target', 'swarm'])
      await cli(['up', '--target', 'swarm', '--timeout', '300'])
    })

    it('verify-persistence --mode down passes, and fails when the db keeps its data on tmpfs (negative control)', async () => {
      await deployedAndHealthy()
      const check = await cli(['verify-persistence', '--target', 'swarm', '--mode', 'down', '--visits', '40', '--json'])
      expectExit(check, 0)
      expect(JSON.parse(check.stdout)).to.include({passed: true, missingCount: 0})
      const kept = await visit(url)

      overridden = true
      await writeFile(
        override(),
        'version: "3.8"\nservices:\n  db:\n    volumes:\n      - type: tmpfs\n        target: /var/lib/postgresql/data\n',
      )
      expectExit(await cli(['down', '--target', 'swarm']), 0)
      expectExit(await cli(['up', '--target', 'swarm', '--timeout', '300']), 0)
      const control = await cli([
        'verify-persistence',
        '--target',
        'swarm',
        '--mode',
        'down',
        '--visits',
        '40',
        '--json',
      ])
      expectExit(control, 1)
      const failed = JSON.parse(control.stdout) as CheckResult
      expect(failed.passed).to.equal(false)
      expect(failed.missingCount).to.equal(40)

      // The volume was never touched: without the override the count goes on.
      await rm(override())
      overridden = false
      expectExit(await cli(['down', '--target', 'swarm']), 0)
      expectExit(await cli(['up', '--target', 'swarm', '--timeout', '300']), 0)
      expect((await visit(url)).visits).to.equal(kept.visits + 1)
    })
  })

  describe('down --volumes', () => {
    it('down --volumes deletes the data volume only when forced (no terminal to confirm: refused, kept)', async () => {
      await deployedAndHealthy()
      const refused = await cli(['down', '--target', 'swarm', '--volumes'])
      expectExit(refused, 2)
      expect(refused.stderr).to.match(/not deleting \S+_postgres_data: not confirmed; nothing was changed/)
      expectExit(await cli(['volume', 'inspect', '--target', 'swarm']), 0)
      expect((await stackStatus())?.healthy).to.equal(true)

      const forced = await cli(['down', '--target', 'swarm', '--volumes', '--force'])
      expectExit(forced, 0)
      expect(forced.stdout).to.match(/volume \S+_postgres_data deleted/)
      const inspect = await cli(['volume', 'inspect', '--target', 'swarm'])
      expectExit(inspect, 1)
      expect(inspect.stderr).to.match(/not pinned to a node/)
    })
  })
})
