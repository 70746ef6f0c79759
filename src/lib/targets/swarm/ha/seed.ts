/**
 * `up --target swarm --db-replicas 3` over a single-db stack: the single db's data becomes the first member's and
 * the others are built from it by Patroni (base backups), so the stack keeps its visits. Patroni's way to
 * convert a standalone server: the users it needs made first (the replication user; the superuser is the
 * stack's own), then Patroni started on the existing data directory with no cluster in etcd yet: it takes the
 * leader key and records that directory's system id as the cluster's. Its other members must not start before:
 * one of them, finding no cluster, could make a new empty one first (render.ts `held`).
 *
 * The single db's volume is never written: it is copied into the first member's new volume on the same node, and
 * kept as it was (the old data stays until the new is proven; the swarm target has no `db prune-old` yet).
 * Before the API is pointed at the members, the seeded leader must hold the single db's visits (count and
 * highest id, read after the API was stopped); otherwise, and on Ctrl-C, the stack goes back to the single db
 * and the copies made here are removed.
 */
import {DB_NAME, DB_OS_USER, volumeName} from '../../../model/config/stack-config.js'
import {Interrupted, StackctlError, UsageError} from '../../../errors.js'
import {psqlArgs} from '../../../operations/db/psql.js'
import {ready, waitUntil, waiting} from '../../../engine/wait/wait-until.js'
import {overrideFiles, swarmCommand, tasksHint, type SwarmContext} from '../cluster/context.js'
import {writeFileAtomic} from '../../../model/stackdir/files.js'
import {waitForTasks} from '../tasks.js'
import {
  controlDataProblems,
  parseControlData,
  parseVisitFacts,
  seedMismatch,
  VISIT_FACTS_SQL,
  type VisitFacts,
} from './seed-check.js'
import {etcdVolume, type HaSettings, pgVolume} from './spec.js'
import {haStatus} from './status.js'

export interface SeedInput {
  ha: HaSettings & {seededFrom: string}
  /** The Patroni image as the nodes know it. */
  haImage: string
  /** The single-db stack file the stack runs now: what it goes back to when the seeding stops. */
  singleText: string
  /** The HA stack file with only the first member and no API task. */
  heldText: string
  /** The API's task count in both files. */
  replicas: number
  timeoutMs: number
  signal?: AbortSignal
}

export interface SeedResult {
  /** The node whose single-db volume seeded the first member. */
  node: string
  /** The single db's volume, kept as it was. */
  keptVolume: string
  /** The visits the single db held and the seeded leader holds. */
  visits: VisitFacts
}

const SEPARATOR = '--- stackctl image ---'
/** The PostgreSQL major of stackctl/patroni (templates/images/patroni/Dockerfile). */
const IMAGE_PG_MAJOR = 17

export async function seedMembers(sw: SwarmContext, input: SeedInput): Promise<SeedResult> {
  const project = sw.stack.config.project
  const node = input.ha.seededFrom
  const single = volumeName(project)
  const first = input.ha.members[0]
  const made = await assertNoMemberVolumes(sw, input.ha)
  const db = await runningDb(sw, node)
  // pg_control is read while the db runs (it is only ever rewritten whole): an incompatible directory stops here.
  await assertCompatible(sw, node, input.haImage, single)
  sw.progress(`seeding: the single db's data on ${node} becomes ${first.pg}'s; its volume ${single} is kept as it is`)
  let roleAdded = false
  try {
    sw.progress('seeding: stopping the API so that no visit is written while the data is copied')
    await sw.managerCli.serviceScale(`${project}_app`, 0)
    const visits = parseVisitFacts(await sw.hostCli.nodeExec(node, db, psqlArgs(DB_NAME, VISIT_FACTS_SQL)))
    if (!visits) throw new StackctlError('the single db did not answer with its visits')
    sw.progress(`seeding: the single db holds ${visits.count} visits (highest id ${visits.maxId})`)
    await sw.hostCli.nodeExec(node, db, ['sh', '-c', REPLICATION_USER_SCRIPT])
    roleAdded = true
    between(input.signal)
    sw.progress(`seeding: stopping the single db (a clean shutdown) on ${node}`)
    await sw.managerCli.serviceScale(`${project}_db`, 0)
    between(input.signal)
    const labels = (await sw.hostCli.nodeVolumeLabels(node, single)) ?? {}
    const target = `${project}_${pgVolume(1)}`
    await sw.hostCli.nodeCreateVolume(node, target, labels)
    sw.progress(`seeding: copying ${single} into ${target} on ${node}`)
    const copy = await sw.hostCli.nodeRunOnce(node, {
      image: input.haImage,
      entrypoint: 'sh',
      args: ['-c', COPY_SCRIPT],
      mounts: [
        {volume: single, target: '/from', readOnly: true},
        {volume: target, target: '/to'},
      ],
      timeoutMs: input.timeoutMs,
    })
    if (copy.exitCode !== 0) throw new StackctlError(`the copy of ${single} failed: ${lastLine(copy.stderr)}`)
    between(input.signal)
    sw.progress(`seeding: starting etcd and ${first.pg} alone on the copy (Patroni takes the data over)`)
    await deploy(sw, input.heldText)
    await waitForTasks(
      sw.manager.swarm,
      project,
      {...Object.fromEntries(input.ha.members.map((m) => [m.etcd, 1])), [first.pg]: 1},
      {timeoutMs: input.timeoutMs, signal: input.signal, progress: sw.progress, hint: tasksHint(sw)},
    )
    const container = await leaderContainer(sw, input)
    if (process.env.STACKCTL_TEST_SEED_DROP_ROW) {
      // The proof's negative control: the seeded leader made to miss the newest visit.
      await memberQuery(sw, node, container, DROP_NEWEST_SQL)
    }
    const seeded = parseVisitFacts(await memberQuery(sw, node, container, VISIT_FACTS_SQL))
    const mismatch = seedMismatch(visits, seeded)
    if (mismatch) throw new SeedMismatch(mismatch)
    sw.progress(`seeding: ${first.pg} leads and holds the same ${visits.count} visits (highest id ${visits.maxId})`)
    return {node, keptVolume: single, visits}
  } catch (error) {
    const back = await backToSingleDb(sw, input, made)
    if (error instanceof Interrupted || input.signal?.aborted) {
      throw new Interrupted(
        `the seeding of the database members stopped; ${back}`,
        `to try again: ${swarmCommand(sw, 'up')} --db-replicas 3`,
      )
    }
    const what =
      error instanceof SeedMismatch
        ? `the seeded data is not the single db's: ${error.message}`
        : `seeding the database members failed: ${(error as Error).message.split('\n')[0]}`
    const kept = roleAdded
      ? "the single db's data is as it was (one role was added to it: replicator, for the members' replication)"
      : "the single db's data is as it was"
    throw new StackctlError(`${what}; ${back}`, {suggestion: `see ${swarmCommand(sw, 'status')}; ${kept}`})
  }
}

class SeedMismatch extends Error {}

/** Between two steps: a Ctrl-C stops the seeding there (each step runs to its end). */
function between(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new Interrupted('the seeding was stopped')
}

/**
 * The replication user Patroni connects its replicas with, made (or its password set) with the stack's
 * password, read from the secret file by psql itself: it is on no command line and in no statement log.
 */
const REPLICATION_USER_SCRIPT = `psql -X -q -v ON_ERROR_STOP=1 -U postgres -d postgres <<'SQL'
\\set pw \`cat /run/secrets/db_password\`
SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'replicator') THEN 'ALTER' ELSE 'CREATE' END AS verb \\gset
:verb ROLE replicator WITH REPLICATION LOGIN PASSWORD :'pw';
SQL`

/** A whole copy, owned by the Patroni image's postgres user (another uid than the single-db image's). */
const COPY_SCRIPT = `set -eu
cp -a /from /to/pgdata
rm -f /to/pgdata/postmaster.pid
chown -R postgres:postgres /to/pgdata
chmod 0700 /to/pgdata`

/**
 * pg_controldata of the single db's directory, then of one this image's initdb makes. Started as root, not as
 * DB_OS_USER: the single db's files belong to another uid than this image's postgres, and only root reads them;
 * initdb refuses root, so it alone drops to postgres.
 */
const COMPAT_SCRIPT = `set -eu
pg_controldata /from
echo '${SEPARATOR}'
install -d -o postgres -g postgres -m 0700 /tmp/ref
setpriv --reuid=postgres --regid=postgres --init-groups -- initdb -D /tmp/ref/pgdata -U postgres -A trust --no-sync >/dev/null
pg_controldata /tmp/ref/pgdata`

const DROP_NEWEST_SQL = `SET synchronous_commit = local; DELETE FROM visits WHERE id = (SELECT max(id) FROM visits)`

async function assertCompatible(sw: SwarmContext, node: string, image: string, volume: string): Promise<void> {
  const result = await sw.hostCli.nodeRunOnce(node, {
    image,
    entrypoint: 'sh',
    args: ['-c', COMPAT_SCRIPT],
    mounts: [{volume, target: '/from', readOnly: true}],
  })
  const [seed, reference] = result.stdout.split(SEPARATOR)
  if (result.exitCode !== 0 || reference === undefined) {
    throw new StackctlError(`pg_controldata of ${volume} failed: ${lastLine(result.stderr)}`)
  }
  const problems = controlDataProblems(parseControlData(seed), parseControlData(reference))
  if (problems.length > 0) {
    throw new UsageError(
      `the data in ${volume} cannot be run by the Patroni image's PostgreSQL ${IMAGE_PG_MAJOR}: ${problems.join('; ')}`,
      `keep the single db (omit --db-replicas); the members can be seeded from a PostgreSQL ${IMAGE_PG_MAJOR} db only; nothing was changed`,
    )
  }
}

/** A member volume that exists already may hold an earlier cluster's data: it is never overwritten. */
async function assertNoMemberVolumes(sw: SwarmContext, ha: HaSettings): Promise<Array<{node: string; volume: string}>> {
  const project = sw.stack.config.project
  const wanted = ha.members.flatMap((m, i) => [
    {node: m.node, volume: `${project}_${pgVolume(i + 1)}`},
    {node: m.node, volume: `${project}_${etcdVolume(i + 1)}`},
  ])
  for (const {node, volume} of wanted) {
    if (await sw.hostCli.nodeVolumeExists(node, volume)) {
      throw new UsageError(
        `volume ${volume} already exists on ${node} (it may hold an earlier database cluster's data); seeding the members from the single db would overwrite it`,
        `look into it, and if it is not needed remove it yourself (docker exec ${node} docker volume rm ${volume}); nothing was changed`,
      )
    }
  }
  return wanted
}

async function runningDb(sw: SwarmContext, node: string): Promise<string> {
  const project = sw.stack.config.project
  const task = (await sw.manager.swarm.tasks(project)).find(
    (t) => t.serviceName === `${project}_db` && t.state === 'running' && t.containerId,
  )
  if (!task?.containerId) {
    throw new UsageError(
      `the single db of '${project}' is not running on ${node}; its visits are counted before its data seeds the members`,
      `start it with ${swarmCommand(sw, 'up')} (without --db-replicas), then run this again; nothing was changed`,
    )
  }
  return task.containerId
}

async function deploy(sw: SwarmContext, text: string): Promise<void> {
  const project = sw.stack.config.project
  await writeFileAtomic(sw.stackFile, text, 0o644)
  await sw.managerCli.stackDeploy({
    stack: project,
    files: overrideFiles(sw),
    resolveImage: 'never',
    cwd: sw.stack.paths.dir,
    shield: true,
  })
}

/** The first member's container once Patroni made it the leader. */
async function leaderContainer(sw: SwarmContext, input: SeedInput): Promise<string> {
  const project = sw.stack.config.project
  const first = input.ha.members[0]
  const outcome = await waitUntil(
    async () => {
      const status = await haStatus(sw, input.ha, input.signal)
      const leads =
        status.leader === first.pg && status.members.some((m) => m.name === first.pg && m.state === 'running')
      if (!leads) return waiting(status.error ?? `leader ${status.leader ?? 'none'}`)
      const tasks = await sw.manager.swarm.tasks(project)
      const task = tasks.find(
        (t) => t.serviceName === `${project}_${first.pg}` && t.state === 'running' && t.containerId,
      )
      return task?.containerId ? ready(task.containerId) : waiting(`${first.pg} has no running task`)
    },
    {timeoutMs: input.timeoutMs, intervalMs: 2000, signal: input.signal, describe: `${first.pg} leading`},
  )
  if (outcome.state === 'aborted') throw new Interrupted(`${first.pg} was taking the data over`)
  if (outcome.state !== 'ready') {
    throw new StackctlError(`${first.pg} did not take the single db's data over: ${String(outcome.last)}`)
  }
  return outcome.value
}

/** psql in a Patroni member, as the postgres OS user: the members take local sessions only from it (peer). */
async function memberQuery(sw: SwarmContext, node: string, container: string, sql: string): Promise<string> {
  return sw.hostCli.nodeExec(node, container, psqlArgs(DB_NAME, sql), undefined, DB_OS_USER)
}

/**
 * The stack back on the single db (its volume untouched) with its API, and the member volumes this seeding made
 * removed (copies, and etcd's state of a cluster that never served). Runs to its end whatever the signal.
 */
async function backToSingleDb(
  sw: SwarmContext,
  input: SeedInput,
  made: ReadonlyArray<{node: string; volume: string}>,
): Promise<string> {
  const project = sw.stack.config.project
  sw.progress('seeding stopped: putting the stack back on the single db')
  try {
    await deploy(sw, input.singleText)
    await waitForTasks(
      sw.manager.swarm,
      project,
      {db: 1, app: input.replicas},
      {
        timeoutMs: input.timeoutMs,
        progress: sw.progress,
        hint: tasksHint(sw),
      },
    )
  } catch (error) {
    return `putting the stack back on the single db failed too (${(error as Error).message.split('\n')[0]}); its volume ${volumeName(project)} on ${input.ha.seededFrom} was not changed`
  }
  const {removed, left} = await removeVolumes(sw, made)
  return [
    `the stack runs on the single db again with its data (volume ${volumeName(project)} on ${input.ha.seededFrom})`,
    ...(removed.length > 0 ? [`the member volumes made for the seeding were removed (${removed.join(', ')})`] : []),
    ...(left.length > 0 ? [`member volumes still there: ${left.join(', ')}`] : []),
  ].join('; ')
}

/** Removes volumes whose containers are going away (the pruned services' tasks): tried for up to 60 s. */
async function removeVolumes(
  sw: SwarmContext,
  volumes: ReadonlyArray<{node: string; volume: string}>,
): Promise<{removed: string[]; left: string[]}> {
  const removed: string[] = []
  const left: string[] = []
  for (const {node, volume} of volumes) {
    if (!(await sw.hostCli.nodeVolumeExists(node, volume))) continue
    let gone = false
    for (let attempt = 0; attempt < 30 && !gone; attempt++) {
      gone = (await sw.hostCli.nodeRemoveVolume(node, volume)).exitCode === 0
      if (!gone) await new Promise((resolve) => setTimeout(resolve, 2000))
    }
    if (gone) removed.push(`${volume} on ${node}`)
    else left.push(`${volume} on ${node}`)
  }
  return {removed, left}
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? ''
}
