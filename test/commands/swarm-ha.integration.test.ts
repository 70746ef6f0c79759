// @group swarm
/**
 * The HA database on a real 3-node local swarm (`up --target swarm --db-replicas 3`): one stack for the whole
 * file (made in `before`, the swarm with every node volume removed in `after` even when a test failed). It
 * proves what needs real nodes: the members and the node-loss verdict, a failover with no acknowledged visit
 * lost (the leader's node container SIGKILLed), and the negative control: with asynchronous replication and the
 * leader's WAL senders stopped before the kill, the set check reports the acknowledged visits that were lost.
 * Rendering, the member table and the verdict are unit tests (test/lib/targets/swarm/ha).
 * Also a pause of the leader's node (a machine that hangs and wakes up), a partition of it (cut from the other
 * nodes, healed) with its negative control, a partition left behind that doctor names and swarm up heals, planned
 * switchovers, doctor and db failover, and volume backup and restore through the leader (4 s measured).
 * Cost: about 11 minutes (swarm 25 s, images onto 3 nodes ~70 s, first deploy ~4 min, two failover runs ~75 s each,
 * a pause ~35 s, doctor with one, then two etcd members paused and resumed 21-25 s, db failover of a healthy leader ~7 s;
 * the partition run 59 s, its negative control 69 s and the partition left behind 32 s: ~160 s of the 679 s measured).
 */
import {expect} from 'chai'
import {mkdtemp, readFile, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {freePort, runCli, type CliResult} from '../helpers/cli.js'
import {docker, removeSwarmLeftovers, swarmDiagnosis, uniqueName} from '../helpers/docker.js'
import {execa} from 'execa'

import {cutScript, healScript, PARTITION_CHAIN} from '../../src/lib/targets/swarm/partition.js'

interface HaStatusJson {
  durability: string
  leader: string | null
  members: Array<{name: string; role: string; state: string; timeline: number | null; node: string}>
  canLoseNode: {safe: boolean; reason: string}
}

interface DoctorJson {
  passed: boolean
  checks: Array<{name: string; status: 'ok' | 'warn' | 'fail'; detail: string; fix: string | null}>
}

interface CheckJson {
  passed: boolean
  acknowledged: number
  missingCount: number | null
  reasons: string[]
  aborted: {phase: string; message: string} | null
  swarm: {
    failover?: {
      outageSeconds: number | null
      oldLeaderRejoined: boolean
      maxLeadersSeen: number
      durability: string
      leaderBefore: string
      leaderAfter: string | null
      killedNode: string | null
      pausedNode: string | null
      partitionedNode: string | null
    }
  }
}

function expectExit(result: CliResult, code: number): void {
  expect(result.exitCode, `exit code; stderr:\n${result.stderr}\nstdout:\n${result.stdout}`).to.equal(code)
}

describe('swarm HA database: Patroni + etcd, failover (integration, a swarm of its own)', function () {
  this.timeout(600_000)
  const swarm = uniqueName('ha')
  const project = uniqueName('haproj')
  let dir = ''
  let manager = ''
  let url = ''
  const cli = (args: string[], env?: Record<string, string>) =>
    runCli([...args, '--dir', dir, '--project-name', project, '--docker-host', manager], {env})

  async function haStatus(): Promise<HaStatusJson> {
    return (await stackStatus()).swarm.ha
  }

  async function stackStatus(): Promise<{healthy: boolean; swarm: {ha: HaStatusJson}}> {
    const status = await cli(['status', '--target', 'swarm', '--json'])
    expectExit(status, 0)
    return JSON.parse(status.stdout) as {healthy: boolean; swarm: {ha: HaStatusJson}}
  }

  /** Patroni's dynamic configuration changed through a member (how an operator switches durability by hand). */
  async function patroniConfig(settings: string[]): Promise<void> {
    const node = `${swarm}-node1`
    const {stdout} = await execa('docker', ['exec', node, 'docker', 'ps', '-q', '-f', `name=${project}_pg1`])
    const args = ['exec', node, 'docker', 'exec', stdout.trim(), 'patronictl', '-c', '/run/stackctl-ha/patroni.yml']
    await execa('docker', [...args, 'edit-config', ...settings.flatMap((s) => ['-s', s]), '--force'])
  }

  async function visit(): Promise<{visits: number}> {
    const response = await fetch(`${url}/`)
    expect(response.status).to.equal(200)
    return (await response.json()) as {visits: number}
  }

  /** The nodes holding a volume of this stack. */
  async function volumeNodes(volume: string): Promise<string[]> {
    const found: string[] = []
    for (const n of [1, 2, 3]) {
      const node = `${swarm}-node${n}`
      const {exitCode} = await execa('docker', ['exec', node, 'docker', 'volume', 'inspect', volume], {reject: false})
      if (exitCode === 0) found.push(node)
    }
    return found
  }

  async function memberVolumes(): Promise<string[]> {
    const found: string[] = []
    for (const n of [1, 2, 3]) {
      const {stdout} = await execa('docker', ['exec', `${swarm}-node${n}`, 'docker', 'volume', 'ls', '-q'])
      found.push(...stdout.split('\n').filter((v) => /_(pg|etcd)\d_data$/.test(v) && v.startsWith(`${project}_`)))
    }
    return found
  }

  /** Seconds since the last phase, logged (the before-hook's cost is measured, never asserted). */
  function phases(): (what: string) => void {
    let since = Date.now()
    return (what) => {
      console.log(`      ${what}: ${((Date.now() - since) / 1000).toFixed(1)} s`)
      since = Date.now()
    }
  }

  before(async function () {
    this.timeout(1_200_000)
    const port = await freePort()
    url = `http://127.0.0.1:${port}`
    dir = path.join(await mkdtemp(path.join(tmpdir(), 'swha-')), 'stack')
    const started = Date.now()
    const up = await runCli(['swarm', 'up', '--name', swarm, '--nodes', '3', '--port', String(port), '--json'])
    expectExit(up, 0)
    manager = (JSON.parse(up.stdout) as {endpoint: string}).endpoint
    console.log(`      swarm up: ${((Date.now() - started) / 1000).toFixed(1)} s`)
    const phase = phases()
    // The HA stack is grown from a single-db stack holding visits (issue 26): its data seeds the members.
    const upArgs = ['up', '--target', 'swarm', '--port', String(port), '--timeout', '420']
    expectExit(await cli(upArgs), 0)
    let last = 0
    for (let i = 0; i < 5; i++) last = (await visit()).visits
    phase('single db deployed, 5 visits')
    // Negative control of the proof before the API is pointed at the members: the seeded leader made to miss the
    // newest visit. The seeding stops, the stack is back on the single db with every visit, the copies are gone.
    const wrong = await cli([...upArgs, '--db-replicas', '3'], {STACKCTL_TEST_SEED_DROP_ROW: '1'})
    expectExit(wrong, 1)
    expect(wrong.stderr).to.include(
      `the seeded data is not the single db's: the seeded leader holds ${last - 1} visits (highest id ${last - 1}), the single db held ${last} (highest id ${last})`,
    )
    expect(wrong.stderr).to.include('the stack runs on the single db again with its data')
    const afterWrong = await visit()
    expect(afterWrong.visits, 'the single db kept every visit and serves again').to.equal(last + 1)
    expect(await memberVolumes()).to.deep.equal([])
    last = afterWrong.visits
    phase('negative control: seeding refused, back on the single db')
    const deploy = await cli([...upArgs, '--db-replicas', '3'])
    if (deploy.exitCode !== 0) {
      for (const service of ['pg1', 'pg2', 'pg3', 'etcd1', 'router', 'app']) {
        console.error(await swarmDiagnosis(swarm, manager, `${project}_${service}`))
      }
    }
    expectExit(deploy, 0)
    phase('seeded: 3 members')
    expect(deploy.stdout).to.match(/database: 3 Patroni members, replication synchronous/)
    expect(deploy.stderr).to.include(`seeding: pg1 leads and holds the same ${last} visits (highest id ${last})`)
    expect((await visit()).visits, 'the count continues on the members').to.equal(last + 1)
    const ha = await haStatus()
    const singleDbNode = (await volumeNodes(`${project}_postgres_data`))[0]
    expect(ha.members.find((m) => m.name === ha.leader)?.node, 'the leader is on the single db node').to.equal(
      singleDbNode,
    )
    expect(await volumeNodes(`${project}_postgres_data`), 'the single db volume is kept').to.have.length(1)
  })

  after(async function () {
    this.timeout(300_000)
    const down = await runCli(['swarm', 'down', '--name', swarm, '--force'])
    // Whatever the CLI did, nothing labelled for this swarm may stay behind (the nodes hold every member volume).
    await removeSwarmLeftovers(swarm)
    if (dir) await rm(path.dirname(dir), {recursive: true, force: true})
    expectExit(down, 0)
  })

  it('shows 3 members on 3 nodes, one leader, synchronous, and that a node can be lost now', async () => {
    const ha = await haStatus()
    expect(ha.durability).to.equal('sync')
    expect(ha.members).to.have.length(3)
    expect(new Set(ha.members.map((m) => m.node)).size).to.equal(3)
    expect(ha.members.filter((m) => m.role === 'leader')).to.have.length(1)
    expect(ha.members.filter((m) => m.state === 'streaming')).to.have.length(2)
    expect(ha.canLoseNode.safe, ha.canLoseNode.reason).to.equal(true)
    const password = (await readFile(path.join(dir, 'secrets', 'db_password'), 'utf8')).trim()
    expect(await readFile(path.join(dir, 'stack.yml'), 'utf8')).not.to.include(password)
  })

  /** count(*) of visits in a member's own PostgreSQL, asked in its container as the postgres user (peer). */
  async function memberVisits(member: HaStatusJson['members'][number]): Promise<number> {
    const {stdout} = await execa('docker', [
      'exec',
      member.node,
      'docker',
      'ps',
      '-q',
      '-f',
      `name=${project}_${member.name}.`,
    ])
    const sql = ['psql', '-XAtq', '-d', 'visits', '-c', 'SELECT count(*) FROM visits']
    const count = await execa('docker', [
      'exec',
      member.node,
      'docker',
      'exec',
      '-u',
      'postgres',
      stdout.trim(),
      ...sql,
    ])
    return Number(count.stdout.trim())
  }

  it('volume backup and restore use the current leader; the restored data reaches the replicas', async () => {
    const leader = (await haStatus()).leader!
    const file = path.join(path.dirname(dir), 'ha.dump')
    const backup = await cli(['volume', 'backup', file, '--target', 'swarm'])
    expectExit(backup, 0)
    expect(backup.stderr).to.match(new RegExp(`backup: from ${project}_${leader}\\.1 on \\S+ \\(the leader\\)`))
    const record = JSON.parse(await readFile(`${file}.json`, 'utf8')) as {visits: number; volume: string}
    expect(record.volume).to.equal(`${project}_${leader}_data`)
    await visit()
    const live = (await visit()).visits
    // Control of the replica check below: before the restore a replica holds the live count, not the backup's.
    const replica = (await haStatus()).members.find((m) => m.role !== 'leader' && m.state === 'streaming')!
    expect(await memberVisits(replica)).to.equal(live)
    const restore = await cli(['volume', 'restore', file, '--target', 'swarm', '--force'])
    expectExit(restore, 0)
    expect(restore.stderr).to.include(`(the leader; the other members receive it by replication)`)
    expect(restore.stdout).to.include(`into volume ${project}_${leader}_data: ${record.visits} visits (was ${live})`)
    expect((await visit()).visits, 'the API counts on from the restored data').to.equal(record.visits + 1)
    // Synchronous quorum: the commit that made that visit is on a standby too; the other one may lag a moment.
    const deadline = Date.now() + 30_000
    let counts = await Promise.all((await haStatus()).members.map(memberVisits))
    while (counts.some((c) => c !== record.visits + 1) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500))
      counts = await Promise.all((await haStatus()).members.map(memberVisits))
    }
    expect(counts).to.deep.equal([1, 2, 3].map(() => record.visits + 1))
  })

  /** doctor --target swarm --json: its report, and the check of that name (which must be there). */
  async function doctor(): Promise<{
    exitCode: number | undefined
    report: DoctorJson
    check: (name: string) => DoctorJson['checks'][number]
  }> {
    const result = await cli(['doctor', '--target', 'swarm', '--json'])
    const report = JSON.parse(result.stdout) as DoctorJson
    const check = (name: string) => {
      const found = report.checks.find((c) => c.name === name)
      expect(found, `check ${name} in ${result.stdout}`).to.not.equal(undefined)
      return found!
    }
    return {exitCode: result.exitCode, report, check}
  }

  /** An etcd member's container paused in its node (the swarm does not replace a paused task): its id to resume. */
  async function pauseEtcd(index: number): Promise<{node: string; id: string}> {
    const node = (await haStatus()).members.find((m) => m.name === `pg${index}`)!.node
    const {stdout} = await execa('docker', ['exec', node, 'docker', 'ps', '-q', '-f', `name=${project}_etcd${index}.`])
    const id = stdout.trim()
    expect(id, `etcd${index}'s container on ${node}`).to.match(/^[0-9a-f]+$/)
    await execa('docker', ['exec', node, 'docker', 'pause', id])
    return {node, id}
  }

  it('doctor passes on the healthy HA stack; an etcd member paused is a warning naming it, two a failure (exit 1); it passes again once they resume', async function () {
    this.timeout(900_000)
    // Right after the deploy, on a busy machine, etcd may still be electing and a standby joining the quorum.
    await waitForFullCluster()
    const healthy = await doctor()
    expect(healthy.exitCode, JSON.stringify(healthy.report)).to.equal(0)
    expect(healthy.report.checks.map((c) => `${c.name} ${c.status}`)).to.deep.equal([
      'manager ok',
      'nodes ok',
      'stack ok',
      'etcd ok',
      'patroni ok',
      'archiving warn',
    ])
    // The swarm archives no WAL: doctor says so as a warning (its fix: volume backup, a dump of the leader).
    expect(healthy.check('archiving').detail).to.include("the Patroni members' volumes")
    expect(healthy.check('etcd').detail).to.include('3/3 members healthy')
    expect(healthy.check('patroni').detail).to.include('every acknowledged visit is on two members')
    const paused: Array<{node: string; id: string}> = []
    try {
      paused.push(await pauseEtcd(3))
      const one = await doctor()
      expect(one.exitCode, JSON.stringify(one.report)).to.equal(0)
      const etcd = one.check('etcd')
      expect(etcd.status).to.equal('warn')
      expect(etcd.detail).to.include('2/3 members healthy: quorum holds; losing one more member stops failover')
      expect(etcd.detail).to.include(`down: etcd3 on ${paused[0].node}`).and.not.include('etcd1 on')
      expect(etcd.fix).to.include(`service update --force ${project}_etcd3`)
      paused.push(await pauseEtcd(2))
      // The last member may still call itself leader for an election timeout (2.5 s): asked until it knows.
      const deadline = Date.now() + 60_000
      let two = await cli(['doctor', '--target', 'swarm'])
      while (!/FAIL\s+etcd /.test(two.stdout) && Date.now() < deadline) two = await cli(['doctor', '--target', 'swarm'])
      expectExit(two, 1)
      // The member left answers, but without a leader: etcd calls it unhealthy too.
      expect(two.stdout, two.stdout).to.match(/FAIL\s+etcd\s+0\/3 members healthy, below the quorum of 2/)
      expect(two.stdout).to.match(/down: etcd2 on \S+ \(.*paused.*\), etcd3 on/)
      expect(two.stdout).to.include('answering but unhealthy: etcd1 on')
    } finally {
      for (const {node, id} of paused) await execa('docker', ['exec', node, 'docker', 'unpause', id])
    }
    // Healed: the later tests start from a healthy cluster, and doctor says so again.
    const deadline = Date.now() + 300_000
    let again = await doctor()
    const unwell = (c: {name: string; status: string}) => c.status !== 'ok' && c.name !== 'archiving'
    while (again.exitCode !== 0 || again.report.checks.some(unwell)) {
      if (Date.now() > deadline) throw new Error(`doctor did not pass again: ${JSON.stringify(again.report)}`)
      await new Promise((resolve) => setTimeout(resolve, 2000))
      again = await doctor()
    }
  })

  /**
   * verify-persistence --mode failover, 120 visits. Each wait of the check (a switchover off node 1 and its old
   * leader's rejoin, the new leader, the rejoin after the kill) gets 5 minutes: on CI's loaded machine 120 s was
   * not enough for a switchover's rejoin.
   */
  const failoverCheck = (env?: Record<string, string>) =>
    cli(
      [
        'verify-persistence',
        '--target',
        'swarm',
        '--mode',
        'failover',
        '--visits',
        '120',
        '--timeout',
        '300',
        '--json',
      ],
      env,
    )

  it('loses no acknowledged visit when the leader node is killed; the old leader rejoins (--mode failover)', async () => {
    const check = await failoverCheck()
    const result = JSON.parse(check.stdout) as CheckJson
    console.log(`      failover: ${JSON.stringify(result.swarm.failover)}`)
    expectExit(check, 0)
    expect(result.missingCount).to.equal(0)
    expect(result.acknowledged).to.be.greaterThan(60)
    expect(result.swarm.failover?.oldLeaderRejoined).to.equal(true)
    expect(result.swarm.failover?.maxLeadersSeen).to.equal(1)
    expect(result.swarm.failover?.leaderAfter).to.not.equal(result.swarm.failover?.leaderBefore)
    expect(result.swarm.failover?.outageSeconds).to.be.a('number')
  })

  /** One visit through the API; a failed request (the pool reconnecting to a new leader) is asked again. */
  async function visitCount(): Promise<number> {
    const deadline = Date.now() + 60_000
    for (;;) {
      const response = await fetch(`${url}/`, {signal: AbortSignal.timeout(20_000)}).catch(() => undefined)
      if (response?.status === 200) return ((await response.json()) as {visits: number}).visits
      if (Date.now() > deadline) throw new Error(`GET ${url}/ did not answer 200 within 60 s (${response?.status})`)
      await new Promise((resolve) => setTimeout(resolve, 1000))
    }
  }

  it('db switchover moves the leader to an eligible standby, losing no visit; the leader itself is refused (exit 2), nothing changed', async function () {
    this.timeout(900_000)
    await waitForFullCluster()
    const before = await haStatus()
    const leader = before.leader!
    const self = await cli(['db', 'switchover', '--target', 'swarm', '--to', leader, '--force'])
    expectExit(self, 2)
    expect(self.stderr).to.include(`${leader} on `).and.include('already leads: nothing to switch')
    expect((await haStatus()).leader).to.equal(leader)

    const counted = await visitCount()
    // Without --to: the standby least behind, another eligible one asked in turn if Patroni turns it down
    // (--to's choice of member or node is the plan's unit test).
    const moved = await cli(['db', 'switchover', '--target', 'swarm', '--force', '--json', '--timeout', '300'])
    expectExit(moved, 0)
    const result = JSON.parse(moved.stdout) as {from: {member: string}; to: {member: string}; seconds: number}
    console.log(`      switchover ${result.from.member} -> ${result.to.member} in ${result.seconds} s`)
    expect(result.from.member).to.equal(leader)
    expect(result.to.member).to.not.equal(leader)
    const after = await haStatus()
    expect(after.leader).to.equal(result.to.member)
    expect(after.members.filter((m) => m.state === 'streaming')).to.have.length(2)
    // Every visit counted before it is still counted: the next one is at least the one after (never fewer).
    expect(await visitCount()).to.be.greaterThan(counted)
  })

  it('db failover with a healthy leader says db switchover is the planned way and promotes an eligible standby; the leader itself is refused (exit 2)', async function () {
    this.timeout(900_000)
    await waitForFullCluster()
    const leader = (await haStatus()).leader!
    const self = await cli(['db', 'failover', '--target', 'swarm', '--to', leader, '--force'])
    expectExit(self, 2)
    expect(self.stderr).to.include(`${leader} on `).and.include('already leads: nothing to switch')
    expect((await haStatus()).leader).to.equal(leader)

    const counted = await visitCount()
    // Human output: the note that db switchover is the planned way goes to stderr (--json prints only the result).
    const moved = await cli(['db', 'failover', '--target', 'swarm', '--force', '--timeout', '300'])
    expectExit(moved, 0)
    expect(moved.stderr).to.match(
      new RegExp(
        `${leader} \\(\\S+\\) leads and answers: stackctl db switchover .*--target swarm.* is the planned way`,
      ),
    )
    const promoted = /^(pg\d) on \S+ leads \(timeline \d+\): failed over in ([\d.]+) s$/m.exec(moved.stdout)
    expect(promoted, moved.stdout).to.not.equal(null)
    console.log(`      failover ${leader} -> ${promoted![1]} in ${promoted![2]} s`)
    expect(promoted![1]).to.not.equal(leader)
    expect((await haStatus()).leader).to.equal(promoted![1])
    expect(await visitCount()).to.be.greaterThan(counted)
  })

  it('loses no acknowledged visit in a planned switchover while writing, and reports its write outage (--mode switchover)', async function () {
    this.timeout(900_000)
    await waitForFullCluster()
    const check = await cli([
      'verify-persistence',
      '--target',
      'swarm',
      '--mode',
      'switchover',
      '--visits',
      '120',
      '--timeout',
      '300',
      '--json',
    ])
    const result = JSON.parse(check.stdout) as CheckJson
    console.log(`      switchover check: ${JSON.stringify(result.swarm.failover)}`)
    expectExit(check, 0)
    expect(result.missingCount).to.equal(0)
    expect(result.acknowledged).to.be.greaterThan(60)
    expect(result.swarm.failover?.leaderAfter).to.not.equal(result.swarm.failover?.leaderBefore)
    expect(result.swarm.failover?.oldLeaderRejoined).to.equal(true)
    expect(result.swarm.failover?.maxLeadersSeen).to.equal(1)
    expect(result.swarm.failover?.outageSeconds).to.be.a('number')
  })

  it('loses no acknowledged visit when the leader node hangs and wakes up while visits are written (--mode pause)', async function () {
    this.timeout(900_000)
    await waitForFullCluster()
    const check = await cli([
      'verify-persistence',
      '--target',
      'swarm',
      '--mode',
      'pause',
      '--visits',
      '120',
      '--timeout',
      '300',
      '--json',
    ])
    const result = JSON.parse(check.stdout) as CheckJson
    console.log(`      pause check: ${JSON.stringify(result.swarm.failover)}`)
    expectExit(check, 0)
    expect(result.missingCount).to.equal(0)
    expect(result.acknowledged).to.be.greaterThan(60)
    const failover = result.swarm.failover!
    expect(failover.killedNode).to.equal(null)
    expect(failover.pausedNode).to.be.a('string')
    expect(failover.leaderAfter).to.not.equal(failover.leaderBefore)
    expect(failover.oldLeaderRejoined).to.equal(true)
    expect(failover.maxLeadersSeen).to.equal(1)
    // Woken, not left frozen: the node runs again.
    const node = await docker.getContainer(failover.pausedNode!).inspect()
    expect({running: node.State.Running, paused: node.State.Paused}).to.deep.equal({running: true, paused: false})
  })

  /** The nodes whose iptables still hold stackctl's partition chain (none, after every partition test). */
  async function nodesWithPartitionRules(): Promise<string[]> {
    const found: string[] = []
    for (const i of [1, 2, 3]) {
      const {stdout} = await execa('docker', ['exec', `${swarm}-node${i}`, 'iptables', '-w', '-S'])
      if (stdout.includes(PARTITION_CHAIN)) found.push(`${swarm}-node${i}`)
    }
    return found
  }

  const partitionCheck = (env?: Record<string, string>) =>
    cli(
      [
        'verify-persistence',
        '--target',
        'swarm',
        '--mode',
        'partition',
        '--visits',
        '120',
        '--timeout',
        '300',
        '--json',
      ],
      env,
    )

  it('loses no acknowledged visit when the leader node is cut from the others while visits are written; never two primaries; healed, the old leader rejoins (--mode partition)', async function () {
    this.timeout(900_000)
    await waitForFullCluster()
    const check = await partitionCheck()
    const result = JSON.parse(check.stdout) as CheckJson
    console.log(`      partition check: ${JSON.stringify(result.swarm.failover)}`)
    expectExit(check, 0)
    expect(result.missingCount).to.equal(0)
    expect(result.acknowledged).to.be.greaterThan(60)
    const failover = result.swarm.failover!
    expect(failover.killedNode).to.equal(null)
    expect(failover.pausedNode).to.equal(null)
    expect(failover.partitionedNode).to.match(new RegExp(`^${swarm}-node[23]$`))
    expect(failover.leaderAfter).to.not.equal(failover.leaderBefore)
    expect(failover.oldLeaderRejoined).to.equal(true)
    expect(failover.maxLeadersSeen).to.equal(1)
    expect(failover.outageSeconds).to.be.a('number')
    // Healed: no rule left in any node (the host's iptables are never touched).
    expect(await nodesWithPartitionRules()).to.deep.equal([])
  })

  // The partition check's own control (the old leader's Patroni frozen after the cut, STACKCTL_VERIFY_FREEZE_OLD_LEADER_PATRONI=1,
  // so its PostgreSQL stays a primary beside the new leader: exit 1, "still took writes as a primary") is run by hand,
  // not here: in one full run the others elected no new leader within 300 s, and the suite has no 5 minutes to wait
  // for it. Its judgement is pinned by test/lib/targets/swarm/ha/handover.unit.test.ts.

  it('a partition left behind (a killed CLI) fails doctor naming the node; its fix, swarm up, heals it as printed', async function () {
    this.timeout(900_000)
    await waitForFullCluster()
    // A node without the leader and not node 1: the rules as --mode partition puts them, left in place.
    const ha = await haStatus()
    const node = [2, 3]
      .map((i) => `${swarm}-node${i}`)
      .find((n) => n !== ha.members.find((m) => m.role === 'leader')!.node)!
    const peers: string[] = []
    for (const i of [1, 2, 3].filter((i) => `${swarm}-node${i}` !== node)) {
      const {stdout} = await execa('docker', [
        'inspect',
        '--format',
        '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}',
        `${swarm}-node${i}`,
      ])
      peers.push(stdout.trim())
    }
    try {
      await execa('docker', ['exec', node, 'sh', '-c', cutScript(peers)])
      const broken = await doctor()
      expect(broken.exitCode, JSON.stringify(broken.report)).to.equal(1)
      const nodes = broken.check('nodes')
      expect(nodes.status).to.equal('fail')
      expect(nodes.detail).to.include(`${node} cannot reach the other nodes`).and.include(peers.join(', '))
      expect(nodes.fix).to.equal(`stackctl swarm up --name ${swarm}`)
      // The fix as printed (stackctl is this checkout's CLI).
      const fixed = await runCli(nodes.fix!.split(' ').slice(1))
      expectExit(fixed, 0)
      expect(fixed.stdout).to.include(`partition healed: ${node} can reach the other nodes again`)
      expect(await nodesWithPartitionRules()).to.deep.equal([])
      expect((await doctor()).check('nodes').status).to.equal('ok')
    } finally {
      await execa('docker', ['exec', node, 'sh', '-c', healScript()], {reject: false})
    }
  })

  /**
   * Until every member is back (the old leader rejoined and streaming, a node can be lost again): a check started
   * while a replica still catches up measures that, not the fault it injects.
   */
  async function waitForFullCluster(): Promise<void> {
    // As long as the check's own waits: under CI's load a killed node's restart, rejoin and rewind took minutes.
    // The whole stack too: after a node was paused, its API task comes back healthy later than the members.
    const deadline = Date.now() + 300_000
    let status = await stackStatus()
    const settled = ({healthy, swarm: {ha}}: typeof status) =>
      healthy && ha.canLoseNode.safe && ha.members.filter((m) => m.state === 'streaming').length === 2
    while (!settled(status)) {
      if (Date.now() > deadline) throw new Error(`the stack did not settle: ${JSON.stringify(status)}`)
      await new Promise((resolve) => setTimeout(resolve, 2000))
      status = await stackStatus()
    }
  }

  it('negative control: async replication and a leader whose WAL never left it: the set check reports the lost visits', async function () {
    // The settle wait and the check's own waits (a switchover, the new leader, the rejoin) may each take minutes.
    this.timeout(1_200_000)
    await waitForFullCluster()
    await patroniConfig(['synchronous_mode=off', 'synchronous_mode_strict=false'])
    try {
      expect((await haStatus()).durability).to.equal('async')
      const check = await failoverCheck({STACKCTL_VERIFY_STALL_REPLICATION: '1'})
      const result = JSON.parse(check.stdout) as CheckJson
      console.log(`      control: ${result.missingCount} of ${result.acknowledged} acknowledged lost`)
      // What stopped a check that never reached its set check (seen once in CI: 0 acknowledged, no count).
      expect(
        result.aborted,
        `${JSON.stringify(result.aborted)}\n${(result.reasons ?? []).join('\n')}\nstdout: ${check.stdout}\nstderr: ${check.stderr}`,
      ).to.equal(null)
      expectExit(check, 1)
      expect(result.missingCount).to.be.greaterThan(0)
      expect(result.reasons.join('\n')).to.match(/acknowledged visits are missing/)
      expect(result.swarm.failover?.durability).to.equal('async')
    } finally {
      await patroniConfig(['synchronous_mode=quorum', 'synchronous_mode_strict=true'])
    }
  })

  it('down --volumes deletes every member volume, etcd’s and the kept single-db volume only when forced (no terminal: refused, exit 2, all kept)', async function () {
    this.timeout(300_000)
    const expected = [
      ...[1, 2, 3].flatMap((n) => [`${project}_pg${n}_data`, `${project}_etcd${n}_data`]),
      `${project}_postgres_data`,
    ].sort()
    const present = async () => (await Promise.all(expected.map(async (v) => (await volumeNodes(v)).length))).join()
    expect(await present()).to.equal('1,1,1,1,1,1,1')
    const refused = await cli(['down', '--target', 'swarm', '--volumes'])
    expectExit(refused, 2)
    expect(refused.stderr).to.include(`not deleting the volumes of '${project}': not confirmed; nothing was changed`)
    expect(await present(), 'refused: every volume kept').to.equal('1,1,1,1,1,1,1')
    const forced = await cli(['down', '--target', 'swarm', '--volumes', '--force', '--json'])
    expectExit(forced, 0)
    const report = JSON.parse(forced.stdout) as {swarm: {volumes: Array<{name: string; deleted: boolean}>}}
    expect(report.swarm.volumes.map((v) => v.name).sort()).to.deep.equal(expected)
    expect(report.swarm.volumes.every((v) => v.deleted)).to.equal(true)
    expect(await present(), 'forced: every volume deleted').to.equal('0,0,0,0,0,0,0')
  })
})
