/**
 * The durability audit, as a pure function of facts gathered from the server (SHOW) and the engine
 * (container inspect). Surviving a clean `down` proves little if the server may acknowledge commits it has
 * not flushed, or if the data directory lives somewhere that vanishes with the container; each such finding
 * is a reason the check fails.
 */
import type {ServerSettings} from './sql.js'

export interface MountFact {
  /** volume | bind | tmpfs (as Docker reports it) */
  type: string
  destination: string
  /** Volume name, for volumes. */
  name?: string
  /** Host path, for bind mounts. */
  source?: string
  /** The volume carries the engine's `com.docker.volume.anonymous` label. */
  anonymousLabel?: boolean
}

export interface AuditFacts {
  settings: ServerSettings
  /** Everything mounted into the db container: Mounts plus HostConfig.Tmpfs. */
  mounts: MountFact[]
  /** `<project>_postgres_data` */
  expectedVolume: string
}

export interface DurabilityReport {
  fsync: string
  synchronousCommit: string
  fullPageWrites: string
  dataDirectory: string
  dataOnNamedVolume: boolean
  /** The volume holding the data directory, if it is on a volume at all. */
  volume: string | null
  /** Where the data directory lives, in words: "volume x", "tmpfs", "container layer", ... */
  storage: string
}

/** Without standbys, every value but `off` waits for the local WAL flush before acknowledging a commit. */
const FLUSHING_COMMIT_MODES = ['on', 'local', 'remote_write', 'remote_apply']
const ANONYMOUS_NAME = /^[0-9a-f]{64}$/

export function auditDurability(facts: AuditFacts): {durability: DurabilityReport; reasons: string[]} {
  const {settings, expectedVolume} = facts
  const reasons: string[] = []
  if (settings.fsync !== 'on') {
    reasons.push(
      `fsync is ${settings.fsync}: the server does not force its writes to disk, so an OS crash or power loss can lose acknowledged visits`,
    )
  }
  if (!FLUSHING_COMMIT_MODES.includes(settings.synchronousCommit)) {
    reasons.push(
      `synchronous_commit is ${settings.synchronousCommit}: commits are acknowledged before their WAL is flushed, so acknowledged visits can be lost`,
    )
  }
  if (settings.fullPageWrites !== 'on') {
    reasons.push(
      `full_page_writes is ${settings.fullPageWrites}: a crash during a page write can leave torn pages that WAL replay cannot repair`,
    )
  }
  const storage = describeStorage(settings.dataDirectory, facts.mounts, expectedVolume)
  if (storage.problem) reasons.push(`the data directory ${settings.dataDirectory} ${storage.problem}`)
  return {
    durability: {
      fsync: settings.fsync,
      synchronousCommit: settings.synchronousCommit,
      fullPageWrites: settings.fullPageWrites,
      dataDirectory: settings.dataDirectory,
      dataOnNamedVolume: !storage.problem,
      volume: storage.volume,
      storage: storage.description,
    },
    reasons,
  }
}

interface Storage {
  description: string
  volume: string | null
  problem?: string
}

function describeStorage(dataDirectory: string, mounts: readonly MountFact[], expected: string): Storage {
  const mount = coveringMount(dataDirectory, mounts)
  if (!mount) {
    return {
      description: 'container layer',
      volume: null,
      problem: `is on the container's own writable layer, not on a volume: it is deleted with the container`,
    }
  }
  if (mount.type === 'tmpfs') {
    return {
      description: `tmpfs at ${mount.destination}`,
      volume: null,
      problem: `is on tmpfs at ${mount.destination} (memory): it is lost whenever the container stops`,
    }
  }
  if (mount.type === 'volume') {
    const name = mount.name ?? '(unnamed)'
    if (mount.anonymousLabel || (ANONYMOUS_NAME.test(name) && name !== expected)) {
      return {
        description: `anonymous volume ${name}`,
        volume: name,
        problem: `is on an anonymous volume (${name.slice(0, 12)}), not on the stack's named volume ${expected}: a new container gets a new, empty one`,
      }
    }
    if (name !== expected) {
      return {
        description: `volume ${name}`,
        volume: name,
        problem: `is on volume ${name}, not on the stack's named volume ${expected}`,
      }
    }
    return {description: `volume ${name}`, volume: name}
  }
  return {
    description: `${mount.type} ${mount.source ?? mount.destination}`,
    volume: null,
    problem: `is on a ${mount.type} mount${mount.source ? ` of ${mount.source}` : ''}, not on the stack's named volume ${expected}`,
  }
}

/**
 * The mount that actually holds a path: the deepest one whose destination contains it. When two claim the
 * same destination, tmpfs is assumed to win — the worst case for durability.
 */
export function coveringMount(target: string, mounts: readonly MountFact[]): MountFact | undefined {
  const path = trimSlash(target)
  const covering = mounts.filter((m) => {
    const destination = trimSlash(m.destination)
    return destination === '' || path === destination || path.startsWith(`${destination}/`)
  })
  return covering.sort(
    (a, b) =>
      trimSlash(b.destination).length - trimSlash(a.destination).length ||
      Number(b.type === 'tmpfs') - Number(a.type === 'tmpfs'),
  )[0]
}

function trimSlash(path: string): string {
  return path.replace(/\/+$/, '')
}
