/**
 * An engine whose execs run as one user. The HA database's members (stackctl/patroni) let local sessions in
 * only as the operating-system user of the same name (peer authentication): psql, pg_dump and pg_restore run
 * there as `postgres`, where the single db's image lets root in. Everything else is the engine's own.
 */
import type {ContainerClient, Engine, ExecOptions, ExecResult} from './engine.js'

class ExecAsUser implements ContainerClient {
  constructor(
    private readonly inner: ContainerClient,
    private readonly user: string,
  ) {}

  exec(id: string, cmd: string[], options: ExecOptions = {}): Promise<ExecResult> {
    return this.inner.exec(id, cmd, {...options, user: this.user})
  }

  list: ContainerClient['list'] = (filter) => this.inner.list(filter)
  inspect: ContainerClient['inspect'] = (id) => this.inner.inspect(id)
  kill: ContainerClient['kill'] = (id, signal) => this.inner.kill(id, signal)
  stop: ContainerClient['stop'] = (id) => this.inner.stop(id)
  logTail: ContainerClient['logTail'] = (id, lines) => this.inner.logTail(id, lines)
  execDetached: ContainerClient['execDetached'] = (id, cmd) => this.inner.execDetached(id, cmd, {user: this.user})
  runOneShot: ContainerClient['runOneShot'] = (options) => this.inner.runOneShot(options)
  start: ContainerClient['start'] = (spec) => this.inner.start(spec)
  remove: ContainerClient['remove'] = (id) => this.inner.remove(id)
}

/** `engine`, with every `containers.exec` and `execDetached` run as `user`. */
export function execAs(engine: Engine, user: string): Engine {
  return {
    endpoint: engine.endpoint,
    ping: () => engine.ping(),
    describe: () => engine.describe(),
    containers: new ExecAsUser(engine.containers, user),
    volumes: engine.volumes,
    images: engine.images,
    networks: engine.networks,
    swarm: engine.swarm,
  }
}
