/**
 * Facts the check reads from the Docker API: which containers and networks the project has, whether an old
 * container still exists, the volume's creation time and what is mounted into the db container. Read-only.
 */
import type Docker from 'dockerode'

import {projectContainers, type ServiceContainer} from '../engine/containers.js'
import {StackctlError} from '../errors.js'
import type {MountFact} from './audit.js'

const ANONYMOUS_LABEL = 'com.docker.volume.anonymous'

export async function runningDbContainer(docker: Docker, project: string): Promise<ServiceContainer> {
  const db = (await projectContainers(docker, project)).find((c) => c.service === 'db' && c.state === 'running')
  if (!db) throw new StackctlError(`the db container of project ${project} is not running`)
  return db
}

/**
 * The volume's CreatedAt, or undefined when it does not exist. @types/dockerode omits the field. On engine
 * 20.10 the local driver reports the ctime of the volume's _data directory, which moves whenever PostgreSQL
 * adds or removes a file at its top (postmaster.pid at every start and stop): it is reported, not compared.
 */
export async function volumeCreatedAt(docker: Docker, name: string): Promise<string | undefined> {
  try {
    const info = (await docker.getVolume(name).inspect()) as {CreatedAt?: string}
    return info.CreatedAt ?? ''
  } catch (error) {
    if (isNotFound(error)) return undefined
    throw error
  }
}

/** Ids of the given containers that the engine still knows. */
export async function remainingContainers(docker: Docker, ids: readonly string[]): Promise<string[]> {
  const remaining: string[] = []
  for (const id of ids) {
    try {
      await docker.getContainer(id).inspect()
      remaining.push(id)
    } catch (error) {
      if (!isNotFound(error)) throw error
    }
  }
  return remaining
}

export async function projectNetworks(docker: Docker, project: string): Promise<string[]> {
  const networks = await docker.listNetworks({filters: {label: [`com.docker.compose.project=${project}`]}})
  return networks.map((n) => n.Name)
}

export interface ContainerEnd {
  running: boolean
  exitCode: number
  /** When the container's main process ended, in ms since the epoch (the engine's clock, this host's). */
  finishedAtMs: number | undefined
}

export async function containerEnd(docker: Docker, id: string): Promise<ContainerEnd> {
  const {State} = await docker.getContainer(id).inspect()
  const finished = Date.parse(State.FinishedAt)
  return {
    running: State.Running,
    exitCode: State.ExitCode,
    finishedAtMs: Number.isFinite(finished) && finished > 0 ? finished : undefined,
  }
}

/** Everything mounted into a container: its Mounts (volumes, binds, tmpfs mounts) and HostConfig.Tmpfs. */
export async function containerMounts(docker: Docker, id: string): Promise<MountFact[]> {
  const info = await docker.getContainer(id).inspect()
  const mounts: MountFact[] = []
  for (const mount of info.Mounts ?? []) {
    const fact: MountFact = {type: mount.Type, destination: mount.Destination}
    if (mount.Type === 'volume' && mount.Name) {
      fact.name = mount.Name
      fact.anonymousLabel = await hasAnonymousLabel(docker, mount.Name)
    } else if (mount.Source) fact.source = mount.Source
    mounts.push(fact)
  }
  for (const destination of Object.keys(info.HostConfig.Tmpfs ?? {})) mounts.push({type: 'tmpfs', destination})
  return mounts
}

async function hasAnonymousLabel(docker: Docker, name: string): Promise<boolean> {
  try {
    const info = await docker.getVolume(name).inspect()
    return Object.hasOwn(info.Labels ?? {}, ANONYMOUS_LABEL)
  } catch (error) {
    if (isNotFound(error)) return false
    throw error
  }
}

/**
 * Watches the engine's event stream for the volume being destroyed. A live subscription, not a `since` query:
 * the engine keeps only the last few hundred events, which a busy engine overwrites within seconds. (`create`
 * proves nothing: the engine announces it for an existing volume each time a container mounts it.)
 */
export interface VolumeWatch {
  readonly destroyEvents: number
  close(): void
}

export async function watchVolume(docker: Docker, name: string): Promise<VolumeWatch> {
  const stream = (await docker.getEvents({filters: {type: ['volume'], volume: [name]}})) as NodeJS.ReadableStream & {
    destroy?: () => void
  }
  let destroyEvents = 0
  let pending = ''
  stream.on('data', (chunk: Buffer | string) => {
    pending += chunk.toString()
    const lines = pending.split('\n')
    pending = lines.pop() ?? ''
    for (const line of lines) {
      if (!line.trim()) continue
      const event = JSON.parse(line) as {Action?: string; Actor?: {ID?: string}}
      if (event.Action === 'destroy' && event.Actor?.ID === name) destroyEvents++
    }
  })
  stream.on('error', () => {})
  return {
    get destroyEvents() {
      return destroyEvents
    },
    close: () => stream.destroy?.(),
  }
}

function isNotFound(error: unknown): boolean {
  return (error as {statusCode?: number}).statusCode === 404
}
