/**
 * Facts the check reads from the engine: which containers and networks the project has, whether an old
 * container still exists, the volume's creation time and what is mounted into the db container. Read-only.
 */
import type {ContainerSummary, Engine} from '../../engine/engine.js'
import {runningService} from '../../engine/services.js'
import {StackctlError} from '../../errors.js'
import type {MountFact} from './audit.js'

const ANONYMOUS_LABEL = 'com.docker.volume.anonymous'

export async function runningDbContainer(engine: Engine, project: string): Promise<ContainerSummary> {
  const db = await runningService(engine, project, 'db')
  if (!db) throw new StackctlError(`the db container of project ${project} is not running`)
  return db
}

/**
 * The volume's CreatedAt, or undefined when it does not exist. On engine 20.10 the local driver reports the
 * ctime of the volume's _data directory, which moves whenever PostgreSQL adds or removes a file at its top
 * (postmaster.pid at every start and stop): it is reported, not compared.
 */
export async function volumeCreatedAt(engine: Engine, name: string): Promise<string | undefined> {
  const info = await engine.volumes.inspect(name)
  return info === undefined ? undefined : (info.createdAt ?? '')
}

/** Ids of the given containers that the engine still knows. */
export async function remainingContainers(engine: Engine, ids: readonly string[]): Promise<string[]> {
  const remaining: string[] = []
  for (const id of ids) if (await engine.containers.inspect(id)) remaining.push(id)
  return remaining
}

export interface ContainerEnd {
  running: boolean
  exitCode: number
  /** When the container's main process ended, in ms since the epoch (the engine's clock, this host's). */
  finishedAtMs: number | undefined
}

export async function containerEnd(engine: Engine, id: string): Promise<ContainerEnd> {
  const info = await engine.containers.inspect(id)
  if (!info) throw new StackctlError(`container ${id.slice(0, 12)} is gone`)
  return {running: info.running, exitCode: info.exitCode, finishedAtMs: info.finishedAtMs}
}

/** Everything mounted into a container: its mounts (volumes, binds, tmpfs mounts) and its tmpfs paths. */
export async function containerMounts(engine: Engine, id: string): Promise<MountFact[]> {
  const info = await engine.containers.inspect(id)
  if (!info) throw new StackctlError(`container ${id.slice(0, 12)} is gone`)
  const mounts: MountFact[] = []
  for (const mount of info.mounts) {
    const fact: MountFact = {type: mount.type, destination: mount.destination}
    if (mount.type === 'volume' && mount.name) {
      fact.name = mount.name
      const volume = await engine.volumes.inspect(mount.name)
      fact.anonymousLabel = volume !== undefined && Object.hasOwn(volume.labels, ANONYMOUS_LABEL)
    } else if (mount.source) fact.source = mount.source
    mounts.push(fact)
  }
  for (const destination of info.tmpfs) mounts.push({type: 'tmpfs', destination})
  return mounts
}
