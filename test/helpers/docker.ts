/**
 * Shared helpers for integration tests against the real engine. Every resource a test creates gets a unique
 * name from uniqueName() and is registered with a Cleanup, which removes it in an after hook even when the
 * test failed. Tests never touch resources they did not create.
 */
import {randomBytes} from 'node:crypto'

import Docker from 'dockerode'
import {execa} from 'execa'

import {createEngine} from '../../src/lib/engine/dockerode-engine.js'
import {EngineFactory} from '../../src/lib/engine/factory.js'

export const docker = new Docker()
/** The engines a command gets from the base command, for tests that call operations directly. */
export const engines = new EngineFactory((env) => createEngine(env))
/** stackctl's own engine layer, for the checks that go through it. */
export const engine = engines.host()

/** A Compose-valid, unique, lowercase name: `st-<prefix>-<random>`. */
export function uniqueName(prefix: string): string {
  return `st-${prefix}-${randomBytes(4).toString('hex')}`.toLowerCase()
}

export class Cleanup {
  private readonly tasks: Array<() => Promise<unknown>> = []

  container(name: string): string {
    this.tasks.push(() => docker.getContainer(name).remove({force: true, v: true}))
    return name
  }

  volume(name: string): string {
    this.tasks.push(() => docker.getVolume(name).remove({force: true}))
    return name
  }

  network(name: string): string {
    this.tasks.push(() => docker.getNetwork(name).remove())
    return name
  }

  add(task: () => Promise<unknown>): void {
    this.tasks.push(task)
  }

  /** Runs every task, newest first (containers before the volumes they use); a missing resource is fine. */
  async run(): Promise<void> {
    const errors: unknown[] = []
    while (this.tasks.length > 0) {
      const task = this.tasks.pop()!
      try {
        await task()
      } catch (error) {
        if ((error as {statusCode?: number}).statusCode !== 404) errors.push(error)
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, 'cleanup failed')
  }
}

/**
 * Removes everything a Compose project created: containers, networks, its volumes and its app images.
 * Found by the project's labels, so nothing outside the project is touched. Also what stackctl makes beside
 * Compose for the project: a restore's recovery server and the WAL archive's `<project>_backups` volume
 * (external to Compose, so that down --volumes keeps it), both found by stackctl's project label.
 */
export async function removeComposeProject(project: string): Promise<void> {
  const label = `com.docker.compose.project=${project}`
  const own = `io.stackctl.project=${project}`
  const containers = await docker.listContainers({all: true, filters: {label: [label]}})
  const recovery = await docker.listContainers({all: true, filters: {label: [own, 'io.stackctl.recovery-of']}})
  await Promise.all([...containers, ...recovery].map((c) => docker.getContainer(c.Id).remove({force: true, v: true})))
  const networks = await docker.listNetworks({filters: {label: [label]}})
  await Promise.all(networks.map((n) => docker.getNetwork(n.Id).remove()))
  const volumes = (await docker.listVolumes({filters: {label: [label]}})).Volumes ?? []
  const backups = ((await docker.listVolumes({filters: {label: [own]}})).Volumes ?? []).filter(
    (v) => v.Name === `${project}_backups`,
  )
  await Promise.all([...volumes, ...backups].map((v) => docker.getVolume(v.Name).remove({force: true})))
}

/** Runs one SQL statement with psql inside the project's db container and returns its unaligned output. */
/**
 * Starts a command in a container and returns at once, leaving it running (a blocking lock, a sleep). The
 * engine keeps the start request's connection open until the command ends even when detached: it is closed
 * here, or it would hold the test process alive (for minutes, after its last test) until the command ends.
 */
export async function execDetached(containerId: string, cmd: string[]): Promise<void> {
  const exec = await docker.getContainer(containerId).exec({Cmd: cmd})
  const stream = await exec.start({Detach: true})
  stream.destroy()
}

/**
 * Takes `table`'s lock in the project's db and holds it for up to 5 minutes (until the session is terminated),
 * so a pg_dump of that table waits: a test then knows a copy is under way and not done when it strikes.
 */
export async function holdTableLock(containerId: string, table: string): Promise<void> {
  await execDetached(containerId, [
    'psql',
    '-U',
    'postgres',
    '-d',
    'visits',
    '-c',
    `BEGIN; LOCK TABLE ${table}; SELECT pg_sleep(300);`,
  ])
}

export async function psqlIn(project: string, sql: string, database = 'visits'): Promise<string> {
  const [db] = await docker.listContainers({
    filters: {label: [`com.docker.compose.project=${project}`, 'com.docker.compose.service=db']},
  })
  if (!db) throw new Error(`project ${project} has no running db container`)
  const result = await engine.containers.exec(db.Id, ['psql', '-X', '-tA', '-U', 'postgres', '-d', database, '-c', sql])
  if (result.exitCode !== 0) throw new Error(`psql failed (exit ${result.exitCode}): ${result.stderr}`)
  return result.stdout.trim()
}

/** Everything labelled for a local swarm (its node containers, their volumes, its network), whatever the CLI left. */
export async function removeSwarmLeftovers(name: string): Promise<void> {
  const label = `io.stackctl.swarm=${name}`
  for (const c of await docker.listContainers({all: true, filters: {label: [label]}})) {
    await docker.getContainer(c.Id).remove({force: true, v: true})
  }
  for (const v of (await docker.listVolumes({filters: {label: [label]}})).Volumes ?? []) {
    await docker.getVolume(v.Name).remove({force: true})
  }
  for (const n of await docker.listNetworks({filters: {label: [label]}})) await docker.getNetwork(n.Id).remove()
}

/**
 * What a swarm test prints when a deploy never turned healthy: the service's tasks with their errors (from the
 * manager) and, from every node, the service's containers with the last health-check output and log lines.
 * A CI run once waited out 300 s on app tasks "starting" on two of three nodes with nothing else to go on.
 */
export async function swarmDiagnosis(swarmName: string, manager: string, service: string): Promise<string> {
  const out: string[] = []
  const run = async (args: string[]) => {
    const result = await execa('docker', args, {reject: false, timeout: 30_000})
    return `$ docker ${args.join(' ')}\n${result.stdout}${result.stderr ? `\n${result.stderr}` : ''}`.trimEnd()
  }
  out.push(await run(['--host', manager, 'service', 'ps', '--no-trunc', service]))
  const nodes = await docker.listContainers({filters: {label: [`io.stackctl.swarm=${swarmName}`]}})
  for (const node of nodes) {
    const name = node.Names[0]?.replace(/^\//, '') ?? node.Id
    const listed = await execa(
      'docker',
      ['exec', name, 'docker', 'ps', '-aq', '--filter', `label=com.docker.swarm.service.name=${service}`],
      {reject: false, timeout: 30_000},
    )
    for (const id of listed.stdout.split('\n').filter(Boolean).slice(0, 3)) {
      out.push(`-- ${name}: container ${id}`)
      out.push(
        await run(['exec', name, 'docker', 'inspect', '--format', '{{.State.Status}} {{json .State.Health}}', id]),
      )
      out.push(await run(['exec', name, 'docker', 'logs', '--tail', '15', id]))
      // What this node's embedded DNS answers for the db (dnsrr: the task addresses it holds, stale or not).
      out.push(await run(['exec', name, 'docker', 'exec', id, 'getent', 'ahostsv4', 'db']))
    }
  }
  // Each node's own view of the overlay: the service records and peers its NetworkDB holds. A node whose view
  // lacks the db task, or names an address the manager does not, cannot reach the db whatever the task does.
  const network = `${service.replace(/_[^_]+$/, '')}_default`
  for (const node of nodes) {
    const name = node.Names[0]?.replace(/^\//, '') ?? node.Id
    out.push(`-- ${name}: its view of ${network}`)
    out.push(
      await run([
        'exec',
        name,
        'docker',
        'network',
        'inspect',
        '--verbose',
        '--format',
        '{{json .Services}} peers={{json .Peers}}',
        network,
      ]),
    )
  }
  // The nodes' own engines on their swarm's gossip: a node marked failed (memberlist) or the overlay's peer
  // table out of step (NetworkDB) explains cross-node connections that time out while every task runs.
  for (const node of nodes) {
    const name = node.Names[0]?.replace(/^\//, '') ?? node.Id
    const logs = await execa('docker', ['logs', name], {reject: false, timeout: 30_000, all: true})
    const gossip = (logs.all ?? '')
      .split('\n')
      .filter((line) =>
        /memberlist|networkdb|gossip|nodes list|libnetwork agent|bulk sync|suspect|peerdb|vxlan/i.test(line),
      )
    out.push(`-- ${name}: the engine's gossip lines (${gossip.length}; first 8 and last 16)`, ...gossip.slice(0, 8))
    if (gossip.length > 8) out.push('   …', ...gossip.slice(Math.max(8, gossip.length - 16)))
  }
  return out.join('\n')
}

/** Removes the host's nat rules a test added with `-m comment --comment TAG` (a test that died before its finally). */
export async function removeCommentedNatRules(tag: string): Promise<void> {
  const {stdout} = await execa('iptables', ['-t', 'nat', '-S'], {reject: false})
  for (const line of stdout.split('\n').filter((l) => l.startsWith('-A ') && l.includes(`--comment ${tag}`))) {
    const args = line.replace(/^-A /, '-D ').split(' ')
    await execa('iptables', ['-t', 'nat', ...args], {reject: false})
  }
}

/** Whether the engine has a volume of this name. */
export async function volumeExists(name: string): Promise<boolean> {
  return docker
    .getVolume(name)
    .inspect()
    .then(
      () => true,
      () => false,
    )
}
