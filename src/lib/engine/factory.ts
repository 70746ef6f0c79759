/**
 * Where engines come from. The base command (the composition root) makes one factory per command and hands
 * it down through loadStack, loadSwarm and the image builder; nothing below it creates an engine, so a test
 * hands in a factory over stubs and every engine of a command shares one client per endpoint.
 */
import {DockerCli} from './docker-cli.js'
import type {Engine} from './engine.js'

/** Makes the engine an environment names (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH). */
export type MakeEngine = (env: NodeJS.ProcessEnv) => Engine

/** Makes the `docker` CLI runner for the environment's engine (no endpoint) or the one at `endpoint`. */
export type MakeCli = (endpoint?: string) => DockerCli

export class EngineFactory {
  private hostEngine: Engine | undefined
  private readonly byEndpoint = new Map<string, Engine>()
  private readonly clis = new Map<string, DockerCli>()

  constructor(
    private readonly make: MakeEngine,
    private readonly env: NodeJS.ProcessEnv = process.env,
    private readonly makeCli: MakeCli = (endpoint) => new DockerCli(endpoint),
  ) {}

  /**
   * The `docker` CLI (Compose, builds, `exec -it`, a swarm's nodes) against the environment's engine, or the one
   * at `endpoint`: the only place one is made, so a test hands in a recording one.
   */
  cli(endpoint?: string): DockerCli {
    const key = endpoint ?? ''
    let cli = this.clis.get(key)
    if (!cli) {
      cli = this.makeCli(endpoint)
      this.clis.set(key, cli)
    }
    return cli
  }

  /** The engine the environment names; another environment (a test's, the swarm's host) gets its own. */
  host(env: NodeJS.ProcessEnv = this.env): Engine {
    if (env !== this.env) return this.make(env)
    return (this.hostEngine ??= this.make(env))
  }

  /** The engine at one endpoint (a swarm manager or node): addressed by DOCKER_HOST alone, as `docker` would. */
  at(endpoint: string): Engine {
    let engine = this.byEndpoint.get(endpoint)
    if (!engine) {
      engine = this.make({DOCKER_HOST: endpoint})
      this.byEndpoint.set(endpoint, engine)
    }
    return engine
  }
}
