/**
 * The one look at the engine a command takes: a ProjectSnapshot, and an Engine that answers the project's
 * container and network listings (and pings) from it while nothing has changed the project. Whoever changes
 * the project (Compose, a removal) calls `invalidate()` first; from then on every call goes to the engine.
 * Mutating calls made through the view invalidate it themselves. The only module here that does I/O, and only
 * through the Engine interface.
 */
import type {ContainerFilter, ContainerSummary, Engine, ProjectSnapshot} from '../engine/engine.js'

export interface Observation {
  readonly snapshot: ProjectSnapshot
  /** The engine as seen through the snapshot (live once invalidated). */
  readonly engine: Engine
  /** True until invalidate(): the snapshot still answers. */
  readonly current: boolean
  /** The project is about to change (or did): stop answering from the snapshot. */
  invalidate(): void
  /** Takes a new snapshot (one listing) and answers from it again. */
  refresh(): Promise<ProjectSnapshot>
}

export async function takeSnapshot(engine: Engine, project: string): Promise<ProjectSnapshot> {
  const [containers, volumes, networks] = await Promise.all([
    engine.containers.list({project}),
    engine.volumes.list(`com.docker.compose.project=${project}`),
    engine.networks.listByProject(project),
  ])
  return {project, containers, volumes, networks}
}

/** Whether a listing is one the snapshot can answer: the project's containers, by service, state or label. */
function answerable(filter: ContainerFilter, project: string): boolean {
  return filter.project === project && filter.publishes === undefined && filter.volume === undefined
}

function hasLabel(labels: Record<string, string>, filter: string): boolean {
  const [key, ...value] = filter.split('=')
  return key in labels && (value.length === 0 || labels[key] === value.join('='))
}

function matches(c: ContainerSummary, filter: ContainerFilter): boolean {
  return (
    (filter.service === undefined || c.service === filter.service) &&
    (!filter.runningOnly || c.state === 'running') &&
    (filter.label === undefined || hasLabel(c.labels, filter.label))
  )
}

export async function observeProject(live: Engine, project: string): Promise<Observation> {
  let snapshot = await takeSnapshot(live, project)
  let current = true
  const invalidate = () => {
    current = false
  }
  /** A mutating call through the view: the snapshot no longer tells the truth. */
  const mutating =
    <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> => {
      invalidate()
      return call(...args)
    }
  const containers = live.containers
  const engine: Engine = {
    endpoint: live.endpoint,
    // The snapshot's listing just proved the engine answers.
    ping: () => (current ? Promise.resolve() : live.ping()),
    describe: () => live.describe(),
    containers: {
      list: async (filter) =>
        current && answerable(filter, project)
          ? snapshot.containers.filter((c) => matches(c, filter))
          : containers.list(filter),
      inspect: (id) => containers.inspect(id),
      logTail: (id, lines) => containers.logTail(id, lines),
      exec: (id, cmd, options) => containers.exec(id, cmd, options),
      execDetached: (id, cmd, options) => containers.execDetached(id, cmd, options),
      runOneShot: (options) => containers.runOneShot(options),
      kill: mutating((id: string, signal: string) => containers.kill(id, signal)),
      stop: mutating((id: string) => containers.stop(id)),
      start: mutating((spec: Parameters<Engine['containers']['start']>[0]) => containers.start(spec)),
      remove: mutating((id: string) => containers.remove(id)),
    },
    volumes: live.volumes,
    images: live.images,
    networks: {
      listByProject: async (name) =>
        current && name === project ? [...snapshot.networks] : live.networks.listByProject(name),
      remove: mutating((name: string) => live.networks.remove(name)),
    },
    swarm: live.swarm,
  }
  return {
    get snapshot() {
      return snapshot
    },
    engine,
    get current() {
      return current
    },
    invalidate,
    refresh: async () => {
      snapshot = await takeSnapshot(live, project)
      current = true
      return snapshot
    },
  }
}
