/**
 * The plan of `up` on Compose, from one snapshot of the project and what the rendered file wants. Pure.
 * Compose runs the mutating steps in one `docker compose up` (it creates, recreates and starts in dependency
 * order); the plan says whether that is needed at all, and why. A running, healthy stack whose every container
 * carries the configuration hash and image Compose would use now plans nothing.
 */
import type {ContainerSummary, ProjectSnapshot} from '../engine/engine.js'
import type {PlanStep} from './steps.js'

/** What Compose would create now for one service. */
export interface DesiredService {
  /** Compose's `config --hash` of the service in the rendered file. */
  configHash: string
  /** Id of the image the service's reference points at now; undefined when unknown. */
  imageId?: string
}

export interface DesiredUp {
  /** The services the stack runs (db, app). */
  services: readonly string[]
  /**
   * Compose's hashes and the images' current ids by service. 'not-compared' when they were not asked (the
   * snapshot already needs Compose); 'unknown' when Compose could not say.
   */
  expected: ReadonlyMap<string, DesiredService> | 'not-compared' | 'unknown'
  /** --build: the API image is built again (Compose decides what to recreate). */
  build?: boolean
  /** Override files are merged by Compose: only it can say what they change. */
  overrideFiles?: number
}

/** What the planner reads of a container. */
export interface UpContainer {
  service: string
  state: string
  /** healthy | unhealthy | starting | none (no health check) */
  health: string
  imageId: string
  /** Compose's com.docker.compose.config-hash label; undefined on a container Compose did not create. */
  configHash?: string
}

const CONFIG_HASH_LABEL = 'com.docker.compose.config-hash'
const STOPPED = new Set(['exited', 'created', 'dead'])

export function upContainer(c: ContainerSummary): UpContainer {
  return {
    service: c.service,
    state: c.state,
    health: c.health,
    imageId: c.imageId,
    configHash: c.labels[CONFIG_HASH_LABEL],
  }
}

function isReady(c: UpContainer): boolean {
  return c.state === 'running' && (c.health === 'healthy' || c.health === 'none')
}

/**
 * Whether Compose's hashes are worth asking for: only when every service runs healthy in exactly one
 * container (otherwise the snapshot alone already plans a start, create or wait).
 */
export function needsComparison(snapshot: Pick<ProjectSnapshot, 'containers'>, services: readonly string[]): boolean {
  return planUp(snapshot, {services, expected: 'not-compared'}).length === 0
}

export function planUp(snapshot: Pick<ProjectSnapshot, 'containers'>, desired: DesiredUp): PlanStep[] {
  return planUpContainers(snapshot.containers.map(upContainer), desired)
}

export function planUpContainers(containers: readonly UpContainer[], desired: DesiredUp): PlanStep[] {
  const steps: PlanStep[] = []
  if (desired.build) steps.push({kind: 'build-image', service: 'app', cause: '--build'})
  if (desired.overrideFiles) {
    steps.push({kind: 'converge', cause: `override files (${desired.overrideFiles}): Compose decides what they change`})
  }
  const {expected} = desired
  const services = expected instanceof Map ? [...expected.keys()] : desired.services
  if (expected instanceof Map && expected.size === 0) steps.push({kind: 'converge', cause: 'Compose named no services'})
  for (const c of containers) {
    if (!services.includes(c.service))
      steps.push({kind: 'converge', service: c.service, cause: 'not in the compose file'})
  }
  for (const service of services) {
    const own = containers.filter((c) => c.service === service)
    if (own.length === 0) {
      steps.push({kind: 'create', service, cause: 'no container'})
      continue
    }
    if (own.length > 1) {
      steps.push({kind: 'converge', service, cause: `${own.length} containers`})
      continue
    }
    const [c] = own
    const want = expected instanceof Map ? expected.get(service) : undefined
    const changed = changeOf(c, want, expected)
    if (changed) steps.push({kind: 'recreate', service, cause: changed})
    else if (STOPPED.has(c.state))
      steps.push({kind: 'start', service, cause: c.state === 'created' ? 'created, never started' : 'stopped'})
    else if (c.state !== 'running') steps.push({kind: 'converge', service, cause: c.state})
    else if (!isReady(c)) steps.push({kind: 'wait-healthy', service, cause: c.health})
  }
  if (expected === 'unknown' && steps.length === 0) {
    steps.push({kind: 'converge', cause: 'Compose could not hash the rendered file'})
  }
  return steps
}

/** Why the container is not what Compose would create now; undefined when it is (or that was not compared). */
function changeOf(
  c: UpContainer,
  want: DesiredService | undefined,
  expected: DesiredUp['expected'],
): string | undefined {
  if (!(expected instanceof Map)) return undefined
  if (!want) return 'Compose gave no hash for it'
  if (c.configHash === undefined) return 'not created by Compose (no configuration hash)'
  if (c.configHash !== want.configHash) return 'compose file changed'
  if (want.imageId === undefined) return 'its image is not known to the engine'
  if (c.imageId !== want.imageId) return 'image changed under the same tag'
  return undefined
}
