/**
 * `stackctl up --target swarm`: build the API image here, get both images onto the nodes (loaded into each
 * local node, or pushed to --registry), pin the db to its node, render stack.yml, `docker stack deploy` it
 * through the manager, and wait until every task runs and is healthy. The volume is never touched; a password
 * file that no longer matches an initialised volume stops everything before the deploy.
 */
import {existsSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import path from 'node:path'

import createDebug from 'debug'

import {volumeName} from '../../../model/config/stack-config.js'
import type {StackImages} from '../../../engine/images/stack-images.js'
import type {SwarmNode} from '../../../engine/engine.js'
import {Interrupted, StackctlError, UsageError} from '../../../errors.js'
import {checkInterrupted} from '../../../cli/interrupt.js'
import {writeFileAtomic} from '../../../model/stackdir/files.js'
import {buildEnv} from '../../../engine/images/image-specs.js'
import {buildxAvailable} from '../../../engine/images/preflight.js'
import {packageRoot} from '../../../package-root.js'
import {
  ensurePasswordFile,
  ensureStackDir,
  newStackId,
  prepareAppContext,
  TEMPLATES,
  writeState,
} from '../../../model/stackdir/stack-files.js'
import {resolveImages, type ImageResolver} from '../../../stack/images.js'
import {appIdentity} from '../../../stack/render-stack.js'
import {dbNodeLabel} from '../db-node.js'
import {planDeploy} from '../../../plan/deploy.js'
import {describeStep} from '../../../plan/steps.js'
import {IPVS_PROBE, networkModes, type ModeChoice} from '../modes.js'
import {renderSwarmStack, type NetworkModes} from '../render.js'
import {secretName, secretVersion} from '../secret.js'
import {waitForTasks} from '../tasks.js'
import {assertManager, overrideFiles, swarmCommand, tasksHint, writeSwarmState, type SwarmContext} from './context.js'
import {megabytes} from '../../../engine/images/builder.js'
import {swarmStackStatus, type SwarmStackStatus} from './status.js'
import {buildImages} from '../../../engine/images/builder.js'
import {IMAGE_SPECS, imageReference} from '../../../engine/images/image-specs.js'
import {renderHaStack} from '../ha/render.js'
import {chooseHa, haExpectedTasks, pgVolume, type Durability, type HaSettings} from '../ha/spec.js'
import {seedMembers, type SeedResult} from '../ha/seed.js'
import {haStatus, type HaStatus} from '../ha/status.js'
import {SYNC_ROLES} from '../ha/members.js'
import {ready, waitUntil, waiting} from '../../../engine/wait/wait-until.js'

export const DEFAULT_REPLICAS = 2

const debug = createDebug('stackctl:plan')

export interface DistributedImage {
  image: string
  sizeBytes: number
  via: 'load' | 'registry' | 'present'
  /** Nodes it was loaded onto (load), or the registry reference (registry). */
  to: string[]
}

export interface SwarmUpResult extends SwarmStackStatus {
  /** Set when this deploy grew the single db into the HA members: the volume kept and the visits carried over. */
  seeded?: {from: string; node: string; visits: number}
  engine: string
  images: DistributedImage[]
  network: string
  seconds: number
}

export interface SwarmDeployOptions {
  replicas?: number
  dbNode?: string
  registry?: string
  /** 1: one pinned PostgreSQL; 3: Patroni members, etcd and a router (default: what the last deploy used). */
  dbReplicas?: number
  /** With 3 members: sync (quorum commit, strict; the default) or async. */
  durability?: Durability
  signal?: AbortSignal
}

export async function deploySwarmStack(
  sw: SwarmContext,
  resolver: ImageResolver,
  options: SwarmDeployOptions,
): Promise<SwarmUpResult> {
  const started = Date.now()
  const {config, paths} = sw.stack
  await assertManager(sw)
  sw.progress(sw.target.reason)
  if (sw.target.local && sw.target.local.port !== config.port) {
    throw new UsageError(
      `local swarm '${sw.target.local.name}' forwards 127.0.0.1:${sw.target.local.port}, but the stack publishes port ${config.port}`,
      `pass --port ${sw.target.local.port}`,
    )
  }
  if (!sw.target.local && !options.registry) {
    throw new UsageError(
      `the images cannot reach the nodes of ${sw.target.endpoint}: it is not a local swarm`,
      'pass --registry HOST:PORT of a registry every node can pull from',
    )
  }
  await ensureStackDir(paths)
  const stackId = sw.stack.state?.stackId ?? sw.swarmState?.stackId ?? newStackId()
  // stack.json first: a directory holding a password without it is refused by every later command.
  await recordStack(sw, stackId, sw.stack.state?.settings.resolvedImageSource)
  const identity = appIdentity()
  const password = await ensurePasswordFile(paths, identity.uid, identity.gid)
  const nodes = await sw.manager.swarm.nodes()
  const holders = await volumeHolders(sw, nodes)
  const plan = planDeploy(
    {nodes, holders, managerId: (await sw.manager.swarm.state()).nodeId, deployedBefore: Boolean(sw.swarmState)},
    {project: config.project, dbNode: options.dbNode, registry: options.registry, replicas: options.replicas},
  )
  for (const step of plan.steps) debug('plan: %s', describeStep(step))
  const {db} = plan
  const ha = chooseHa({
    dbReplicas: options.dbReplicas,
    durability: options.durability,
    remembered: sw.swarmState?.ha,
    singleDbVolumeOn: holders,
    singleDbUnseenOn: sw.target.local ? undefined : sw.swarmState?.dbNode || undefined,
    nodes: nodes.map((n) => n.hostname),
  })
  const secretVersion = nextSecretVersion(sw, password.sha256, holders.length > 0 || Boolean(sw.swarmState?.ha))
  const haImage = imageReference(IMAGE_SPECS.patroni)
  if (ha && !(await sw.stack.engine.images.inspect(haImage))) {
    sw.progress(`building ${haImage} (the database members, etcd and the router) from Debian packages`)
    await buildImages({only: 'patroni', engine: sw.stack.engine, docker: sw.hostCli, progress: sw.progress})
  }

  const {images, reason} = await resolveImages(
    config.imageSource,
    config.pgMajor,
    sw.swarmState ? 'local' : undefined,
    resolver,
  )
  sw.progress(reason)
  const appTag = await prepareAppContext(paths, images.node)
  const appImage = `stackctl-app:${appTag}`
  const distributed = await beforeDeploy(config.project, async () => {
    await buildAppImage(sw, appImage, images.node, options.signal)
    const dbImages = ha ? {[haImage]: nodes.map((n) => n.hostname)} : {[images.postgres]: [db.node.hostname]}
    return options.registry
      ? pushImages(sw, [...Object.keys(dbImages), appImage], options.registry, options.signal)
      : loadImages(sw, {...dbImages, [appImage]: nodes.map((n) => n.hostname)}, options.signal)
  })
  const reference = (image: string) => (options.registry ? `${options.registry}/${image}` : image)

  const modes = await detectModes(sw, reference(appImage))
  sw.progress(modes.reason)
  // With a host-mode port only nodes running an app task answer, and a local swarm's URL is node 1's port:
  // by default every node runs one, so the URL up prints answers whichever nodes the tasks land on.
  const replicas = chooseReplicas({
    requested: options.replicas,
    remembered: sw.swarmState?.replicas,
    portMode: modes.modes.portMode,
    localNodes: sw.target.local ? nodes.length : undefined,
  })
  if (!ha && plan.steps.some((step) => step.kind === 'pin-db-node')) {
    await sw.manager.swarm.updateNode(db.node.id, {labels: {[dbNodeLabel(config.project)]: 'true'}})
  }
  sw.progress(ha ? describeHa(ha) : db.reason)

  const textInput = {
    images: {...images, postgres: reference(images.postgres)},
    appImage: reference(appImage),
    stackId,
    secretVersion,
    modes: modes.modes,
  }
  const single = await swarmStackText(sw, {...textInput, replicas})
  const haInput = {image: reference(haImage), stackId, scope: config.project}
  const text = ha ? renderHaStack(single, {...ha, ...haInput}) : single
  let seeded: SeedResult | undefined
  if (ha?.seededFrom && !sw.swarmState?.ha) {
    // This stack's single db grows into the members: its data first, proven, before the API is pointed at them.
    const held = renderHaStack(await swarmStackText(sw, {...textInput, replicas: 0}), {
      ...ha,
      ...haInput,
      held: ha.members.slice(1).map((m) => m.pg),
    })
    seeded = await seedMembers(sw, {
      ha: {...ha, seededFrom: ha.seededFrom},
      haImage: reference(haImage),
      singleText: single,
      heldText: held,
      replicas,
      timeoutMs: config.timeoutSeconds * 1000,
      signal: options.signal,
    })
  }
  await writeFileAtomic(sw.stackFile, text, 0o644)
  await recordStack(sw, stackId, images.source)

  // Once the seeded members are proven, the deploy that points the API at them is finished, not undone.
  if (!seeded) checkInterrupted(options.signal, `nothing was deployed; stack '${config.project}' is as it was`)
  sw.progress(`docker stack deploy ${config.project} (${replicas} API replicas) on ${sw.target.endpoint}`)
  await sw.managerCli.stackDeploy({
    stack: config.project,
    files: overrideFiles(sw),
    resolveImage: options.registry ? 'always' : 'never',
    cwd: paths.dir,
    onLine: (line) => sw.progress(line),
  })
  await writeSwarmState(sw, {
    stackId,
    endpoint: sw.target.endpoint,
    dbNode: ha ? '' : db.node.hostname,
    replicas,
    secretVersion,
    passwordSha256: password.sha256,
    registry: options.registry,
    ...(ha ? {ha} : {}),
  })
  try {
    await waitForTasks(
      sw.manager.swarm,
      config.project,
      ha ? {...haExpectedTasks(ha), app: replicas} : {db: 1, app: replicas},
      {
        timeoutMs: config.timeoutSeconds * 1000,
        signal: options.signal,
        progress: sw.progress,
        hint: tasksHint(sw),
      },
    )
    if (ha) await waitForMembers(sw, ha, {timeoutMs: config.timeoutSeconds * 1000, signal: options.signal})
  } catch (error) {
    if (error instanceof Interrupted) {
      throw new Interrupted(
        `stack '${config.project}' was deployed and the swarm keeps starting its tasks`,
        `see ${swarmCommand(sw, 'status')}; ${swarmCommand(sw, 'down')} removes it (${keptVolumes(config.project, ha)})`,
      )
    }
    throw error
  }
  await removeOldSecrets(sw, secretName(config.project, secretVersion))
  if (seeded) {
    sw.progress(
      `seeded: ${ha?.members[0].pg} took over the single db's ${seeded.visits.count} visits; its volume ${seeded.keptVolume} stays on ${seeded.node}, unused (remove it yourself once you no longer need it)`,
    )
  }
  const status = await swarmStackStatus(sw)
  return {
    ...status,
    ...(seeded ? {seeded: {from: seeded.keptVolume, node: seeded.node, visits: seeded.visits.count}} : {}),
    engine: sw.target.reason,
    images: distributed,
    network: modes.reason,
    seconds: (Date.now() - started) / 1000,
  }
}

/**
 * The HA database is up once one member leads and every other member streams from it on its timeline, with
 * (synchronous durability) one of them in the synchronous quorum: until a synchronous standby streams, every
 * commit waits (strict quorum commit), though all the tasks run and answer their health checks. Seen under
 * load: up returned while a replica was still starting and Patroni had no synchronous standby yet, and status
 * then said the stack could not lose a node. The tasks are all running by now (waitForTasks), so a member that
 * never streams is a fault to report, not a node that is missing.
 */
async function waitForMembers(
  sw: SwarmContext,
  ha: HaSettings,
  options: {timeoutMs: number; signal?: AbortSignal},
): Promise<void> {
  let said = false
  const outcome = await waitUntil(
    async () => {
      const now = await haStatus(sw, ha, options.signal)
      const verdict = haSettled(now, ha.members.length)
      if (verdict.ready) return ready(now)
      if (!said) sw.progress(`waiting for the database members: ${verdict.reason}`)
      said = true
      return waiting(verdict.reason)
    },
    {timeoutMs: options.timeoutMs, intervalMs: 2000, signal: options.signal, describe: 'the HA members in place'},
  )
  if (outcome.state === 'aborted') throw new Interrupted('the database members were still settling')
  if (outcome.state !== 'ready') {
    throw new StackctlError(
      `the HA database is not in place after ${Math.round(outcome.elapsedMs / 1000)} s: ${outcome.last}`,
      {suggestion: `its members: ${swarmCommand(sw, 'status')}; its checks: ${swarmCommand(sw, 'doctor')}`},
    )
  }
}

/** Pure: whether the members are all in place (one leads, the others stream from it, one synchronously), and if not, why. */
export function haSettled(
  status: Pick<HaStatus, 'leader' | 'durability' | 'members' | 'error'>,
  expectedMembers: number,
): {ready: boolean; reason: string} {
  if (!status.leader) {
    return {ready: false, reason: status.error ? `no member answered (${status.error})` : 'no leader yet'}
  }
  const leader = status.members.find((m) => m.name === status.leader)
  const streaming = status.members.filter(
    (m) =>
      m.name !== status.leader &&
      m.state === 'streaming' &&
      (m.timeline === null || m.timeline === (leader?.timeline ?? null)),
  )
  const others = expectedMembers - 1
  if (streaming.length < others) {
    const behind = status.members
      .filter((m) => m.name !== status.leader && !streaming.includes(m))
      .map((m) => `${m.name} ${m.state}`)
    return {
      ready: false,
      reason: `${status.leader} leads, ${streaming.length} of ${others} others stream${behind.length ? ` (${behind.join(', ')})` : ''}`,
    }
  }
  if (status.durability === 'async') return {ready: true, reason: `${status.leader} leads, ${others} replicas stream`}
  const sync = streaming.filter((m) => SYNC_ROLES.has(m.role))
  return sync.length > 0
    ? {ready: true, reason: `${status.leader} leads, ${sync.map((m) => m.name).join(' and ')} synchronous`}
    : {ready: false, reason: `${status.leader} leads but no synchronous standby yet (commits wait for one)`}
}

/** What `down` keeps: the single db's volume, or every member's. */
function keptVolumes(project: string, ha: HaSettings | undefined): string {
  if (!ha) return `the volume ${volumeName(project)} stays`
  const members = ha.members.map((_, i) => `${project}_${pgVolume(i + 1)}`).join(', ')
  return `the member volumes ${members} stay on their nodes`
}

function describeHa(ha: HaSettings): string {
  const where = ha.members.map((m) => `${m.pg} on ${m.node}`).join(', ')
  const durability =
    ha.durability === 'sync'
      ? 'synchronous quorum replication (a visit is acknowledged once on 2 members)'
      : 'asynchronous replication (--db-durability async: a failover can lose the last acknowledged visits)'
  return `db: ${ha.members.length} Patroni members (${where}), ${durability}`
}

/** --replicas, else the last deploy's, else one per node of a local swarm with a host-mode port, else 2. */
export function chooseReplicas(input: {
  requested?: number
  remembered?: number
  portMode: NetworkModes['portMode']
  /** The local swarm's node count; undefined for a remote swarm. */
  localNodes?: number
}): number {
  const hostModeDefault = input.portMode === 'host' ? input.localNodes : undefined
  return input.requested ?? input.remembered ?? hostModeDefault ?? DEFAULT_REPLICAS
}

/** Ctrl-C while images are built or copied: the step stops, and nothing reached the swarm's services. */
async function beforeDeploy<T>(project: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (error) {
    if (error instanceof Interrupted) {
      throw new Interrupted(
        `nothing was deployed; stack '${project}' is as it was (images already copied stay on their nodes)`,
      )
    }
    throw error
  }
}

/** stack.json: the stack's id and settings, shared with the Compose target (its compose hashes kept). */
export async function recordStack(
  sw: Pick<SwarmContext, 'stack'>,
  stackId: string,
  resolvedImageSource: 'registry' | 'local' | undefined,
): Promise<void> {
  const {config, paths, state} = sw.stack
  const next = {
    stackId,
    adopted: state?.adopted,
    settings: {
      ...(state?.settings ?? {}),
      project: config.project,
      host: config.host,
      port: config.port,
      pgMajor: config.pgMajor,
      imageSource: config.imageSource,
      resolvedImageSource,
    },
    composeSha256: state?.composeSha256,
    passwordSha256: state?.passwordSha256,
  }
  await writeState(paths, next)
  sw.stack.state = next
}

export interface StackTextInput {
  images: StackImages
  appImage: string
  stackId: string
  replicas: number
  secretVersion: number
  modes: NetworkModes
}

/** The stack file for this stack directory, from the compose template and templates/compose/swarm.yml. */
export async function swarmStackText(sw: Pick<SwarmContext, 'stack'>, input: StackTextInput): Promise<string> {
  const {config, paths} = sw.stack
  const identity = appIdentity()
  return renderSwarmStack(
    await readFile(TEMPLATES.compose, 'utf8'),
    await readFile(path.join(packageRoot, 'templates', 'compose', 'swarm.yml'), 'utf8'),
    {
      config,
      images: input.images,
      appImage: input.appImage,
      appUser: `${identity.uid}:${identity.gid}`,
      identity: {stackId: input.stackId, dir: paths.dir},
      replicas: input.replicas,
      dbNodeLabel: dbNodeLabel(config.project),
      secretName: secretName(config.project, input.secretVersion),
      modes: input.modes,
    },
  )
}

/**
 * Swarm secrets cannot change: a new password file content gets a new secret name (and the services are
 * updated to it). On an initialised volume the file must not change at all: PostgreSQL only reads it once.
 */
function nextSecretVersion(sw: SwarmContext, sha: string, volumeSeen: boolean): number {
  // On a local swarm every node can be looked into; elsewhere a volume is assumed once a deploy pinned the db.
  const mayHoldData = volumeSeen || (!sw.target.local && Boolean(sw.swarmState?.dbNode))
  const next = secretVersion(sw.swarmState, sha, mayHoldData)
  if ('version' in next) return next.version
  throw new StackctlError(
    `the password file ${sw.stack.paths.passwordFile} changed since the last deploy; the database in volume ${volumeName(sw.stack.config.project)} still has the old password (PostgreSQL only reads the file when it initialises a volume)`,
    {
      exitCode: 2,
      suggestion: 'restore the original secrets/db_password from your copy of the stack directory; nothing was changed',
    },
  )
}

/** On a local swarm, the nodes that hold the project's data volume (elsewhere this cannot be seen). */
async function volumeHolders(sw: SwarmContext, nodes: SwarmNode[]): Promise<string[]> {
  if (!sw.target.local) return []
  const volume = volumeName(sw.stack.config.project)
  const found = await Promise.all(
    nodes.map(async (node) => {
      return (await sw.hostCli.nodeVolumeExists(node.hostname, volume)) ? node.hostname : undefined
    }),
  )
  return found.filter((n): n is string => n !== undefined)
}

async function buildAppImage(sw: SwarmContext, image: string, nodeImage: string, signal?: AbortSignal): Promise<void> {
  if (await sw.stack.engine.images.inspect(image)) return
  sw.progress(`building ${image}`)
  const env = buildEnv(await buildxAvailable(sw.hostCli))
  const result = await sw.hostCli.buildImage({
    tag: image,
    context: sw.stack.paths.appContext,
    buildArgs: {NODE_IMAGE: nodeImage},
    env,
    signal,
  })
  if (result.exitCode !== 0) {
    throw new StackctlError(
      `docker build of ${image} failed: ${(result.stdout + result.stderr).split('\n').slice(-5).join(' ')}`,
    )
  }
}

/** `docker save | docker load` into each node that lacks the image (or has another image under its name). */
async function loadImages(
  sw: SwarmContext,
  targets: Record<string, string[]>,
  signal?: AbortSignal,
): Promise<DistributedImage[]> {
  const results: DistributedImage[] = []
  for (const [image, nodes] of Object.entries(targets)) {
    const info = await sw.stack.engine.images.inspect(image)
    if (!info) throw new StackctlError(`image ${image} is missing on this engine`)
    const missing: string[] = []
    for (const node of nodes) {
      if ((await sw.hostCli.nodeImageId(node, image)) !== info.id) missing.push(node)
    }
    if (missing.length > 0) {
      sw.progress(`images: loading ${image} (${megabytes(info.sizeBytes)}) onto ${missing.join(', ')}`)
      await Promise.all(missing.map((node) => sw.hostCli.loadIntoNode(image, node, {signal})))
    }
    results.push({image, sizeBytes: info.sizeBytes, via: missing.length > 0 ? 'load' : 'present', to: missing})
  }
  return results
}

async function pushImages(
  sw: SwarmContext,
  images: string[],
  registry: string,
  signal?: AbortSignal,
): Promise<DistributedImage[]> {
  if (!/^[a-z0-9.-]+(:\d{1,5})?(\/[a-z0-9._/-]+)?$/i.test(registry)) {
    throw new UsageError(`invalid registry '${registry}'`, 'use HOST:PORT, e.g. --registry registry.example.com:5000')
  }
  const results: DistributedImage[] = []
  for (const image of images) {
    const info = await sw.stack.engine.images.inspect(image)
    if (!info) throw new StackctlError(`image ${image} is missing on this engine`)
    sw.progress(`images: pushing ${image} (${megabytes(info.sizeBytes)}) to ${registry}`)
    await sw.hostCli.pushTo(image, `${registry}/${image}`, {signal})
    results.push({image, sizeBytes: info.sizeBytes, via: 'registry', to: [`${registry}/${image}`]})
  }
  return results
}

/** IPVS is a kernel feature: a local swarm shares this machine's kernel; a remote one is probed on its manager. */
async function detectModes(sw: SwarmContext, image: string): Promise<ModeChoice> {
  if (sw.target.local) return networkModes(existsSync('/proc/net/ip_vs'))
  try {
    const probe = await sw.manager.containers.runOneShot({image, ...IPVS_PROBE, readOnlyVolumes: {}})
    return networkModes(probe.exitCode === 0)
  } catch (error) {
    const choice = networkModes(false)
    return {
      ...choice,
      reason: `${choice.reason}; IPVS could not be probed on the manager (${(error as Error).message.split('\n')[0]})`,
    }
  }
}

async function removeOldSecrets(sw: SwarmContext, current: string): Promise<void> {
  const project = sw.stack.config.project
  for (const secret of await sw.manager.swarm.secrets(`com.docker.stack.namespace=${project}`)) {
    if (secret.name === current || !secret.name.startsWith(`${project}_db_password_v`)) continue
    await sw.manager.swarm.removeSecret(secret.id).catch(() => undefined) // still in use: next time
  }
}
