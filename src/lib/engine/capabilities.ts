/**
 * What an engine can and cannot do for a stack, judged from what it says of itself (Engine.describe()): pure, so
 * the render, the swarm refusal and doctor agree, and a unit test pins each rule.
 */
import type {EngineDescription} from './engine.js'

/** "Docker 20.10.24", "Podman 4.3.1 rootless". */
export function engineName(engine: Pick<EngineDescription, 'kind' | 'version' | 'rootless'>): string {
  return `${engine.kind === 'podman' ? 'Podman' : 'Docker'} ${engine.version}${engine.rootless ? ' rootless' : ''}`
}

/**
 * How the API's container runs so it can read the stack's password file, a 0600 file owned by the invoking
 * user (`identity`, never root: see appIdentity). Rootful engines run it as that uid:gid. A rootless engine runs
 * as the invoking user and maps it to uid 0 inside its user namespace, where that uid:gid is some other, mapped
 * id that cannot read the file: Podman can keep the user's own id inside (`userns_mode: keep-id`); on rootless
 * Docker the container's root *is* the unprivileged user on the host (and the container keeps no capability).
 */
export function appRuntime(
  engine: Pick<EngineDescription, 'kind' | 'rootless'>,
  identity: {uid: number; gid: number},
): {user: string; usernsMode?: 'keep-id'} {
  if (engine.rootless && engine.kind === 'docker') return {user: '0:0'}
  const user = `${identity.uid}:${identity.gid}`
  return engine.rootless ? {user, usernsMode: 'keep-id'} : {user}
}

/** Why this engine cannot host a swarm (stackctl swarm up, up --target swarm); undefined when it can. */
export function swarmUnsupported(engine: Pick<EngineDescription, 'kind' | 'version' | 'rootless'>): string | undefined {
  if (engine.kind === 'podman') return `${engineName(engine)} has no Swarm mode (Swarm exists only in Docker)`
  if (engine.rootless) {
    return `${engineName(engine)} cannot run a swarm: overlay networks and the local swarm's privileged node containers need a rootful engine`
  }
  return undefined
}

/** On cgroup v1 a rootless engine cannot apply memory or pids limits: it drops them and the containers run unlimited. */
export function limitsIgnored(engine: Pick<EngineDescription, 'rootless' | 'cgroupVersion'>): boolean {
  return engine.rootless && engine.cgroupVersion === 1
}

/** The containers.conf line that worked on this host kind (ENGINES.md): limits no higher than its hard ones. */
export const PODMAN_ULIMITS = 'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]'

/**
 * Podman (rootful) raises nofile and nproc to 1048576 for every container unless containers.conf says
 * otherwise; where the host's hard limits are lower and the engine lacks CAP_SYS_RESOURCE, no container
 * starts: "error setting rlimit type 7: operation not permitted" (7 is RLIMIT_NOFILE).
 */
export function rlimitFailure(text: string): string | undefined {
  return /error setting rlimit type \d+(: [^:\n]+)?/.exec(text)?.[0]
}

/** Where the fix goes, as a line that can be pasted into the file. */
export function ulimitsFix(engine: Pick<EngineDescription, 'rootless'>): string {
  const file = engine.rootless ? '~/.config/containers/containers.conf' : '/etc/containers/containers.conf'
  return `add under [containers] in ${file}: ${PODMAN_ULIMITS} (no higher than this host's hard limits, ulimit -Hn and ulimit -Hu), then restart the Podman service`
}
