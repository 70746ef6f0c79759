/**
 * A `--target swarm` context over the stubs, for unit tests of the swarm operations' decisions: a real
 * temporary stack directory (as Compose's stub stack), a manager whose swarm is a StubSwarm, and `docker` CLIs
 * that record every argument list and answer from a script instead of running anything.
 */
import type {SwarmContext, SwarmStackState} from '../../src/lib/targets/swarm/cluster/context.js'
import type {StackConfigInput} from '../../src/lib/model/config/stack-config.js'
import {EngineFactory} from '../../src/lib/engine/factory.js'
import type {RunResult} from '../../src/lib/engine/process/run.js'
import {DockerCli, type DockerCliOptions} from '../../src/lib/engine/docker-cli.js'
import type {LocalSwarmRef} from '../../src/lib/targets/swarm/endpoint-choice.js'
import {stubStack, withLocalImages} from './stub-context.js'
import {StubEngine} from './stub-stack.js'
import {StubSwarm} from './stub-swarm.js'

/** An answer for an argument list, or undefined to fall through to the default (exit 0, no output). */
export type CliAnswer = (args: readonly string[]) => Partial<RunResult> | undefined

/** `docker` that never runs: each call is recorded as its joined argument list. */
export class StubDockerCli extends DockerCli {
  readonly calls: string[] = []
  readonly answers: CliAnswer[] = []

  answer(answer: CliAnswer): this {
    this.answers.push(answer)
    return this
  }

  override async run(args: readonly string[], options: DockerCliOptions & {reject?: boolean} = {}): Promise<RunResult> {
    this.calls.push(args.join(' '))
    let result: RunResult = {stdout: '', stderr: '', exitCode: 0}
    for (const answer of this.answers) {
      const found = answer(args)
      if (found) {
        result = {...result, ...found}
        break
      }
    }
    for (const line of result.stdout.split('\n').filter(Boolean)) options.onLine?.(line)
    if (result.exitCode !== 0 && options.reject !== false) {
      throw new Error(`docker ${args.join(' ')} failed (${result.exitCode}): ${result.stderr}`)
    }
    return result
  }

  override async loadIntoNode(image: string, node: string): Promise<void> {
    this.calls.push(`save ${image} | exec -i ${node} docker load`)
  }
}

/** The three nodes of a local swarm named `t`: node 1 the manager. */
export function threeNodes(swarm: StubSwarm = new StubSwarm()): StubSwarm {
  return swarm
    .addNode('t-node1', {id: 'n1', role: 'manager', addr: '10.1.0.11'})
    .addNode('t-node2', {id: 'n2', addr: '10.1.0.12'})
    .addNode('t-node3', {id: 'n3', addr: '10.1.0.13'})
}

export const LOCAL_SWARM: LocalSwarmRef = {
  name: 't',
  endpoint: 'unix:///state/swarms/t/node1/docker.sock',
  nodeEndpoints: {
    't-node1': 'unix:///state/swarms/t/node1/docker.sock',
    't-node2': 'unix:///state/swarms/t/node2/docker.sock',
    't-node3': 'unix:///state/swarms/t/node3/docker.sock',
  },
  port: 8080,
  nodes: ['t-node1', 't-node2', 't-node3'],
}

export interface StubSwarmContext {
  sw: SwarmContext
  swarm: StubSwarm
  manager: StubEngine
  host: StubEngine
  managerCli: StubDockerCli
  hostCli: StubDockerCli
  progress: string[]
}

/**
 * Project `demo` (port 8080) on a local 3-node swarm by default; `local: false` makes it a remote swarm reached
 * through its manager's endpoint only.
 */
export async function stubSwarmContext(
  options: {flags?: StackConfigInput; local?: boolean; swarmState?: SwarmStackState; dir?: string} = {},
): Promise<StubSwarmContext> {
  const host = withLocalImages(new StubEngine())
  const {ctx} = await stubStack({port: 8080, ...options.flags}, {engine: host, dir: options.dir})
  const manager = new StubEngine()
  const swarm = threeNodes(manager.swarm)
  const managerCli = new StubDockerCli(LOCAL_SWARM.endpoint)
  const hostCli = new StubDockerCli('unix:///var/run/docker.sock')
  const progress: string[] = []
  const local = options.local ?? true
  const sw: SwarmContext = {
    stack: ctx,
    target: local
      ? {endpoint: LOCAL_SWARM.endpoint, local: LOCAL_SWARM, reason: `swarm: local swarm 't' (stackctl swarm up)`}
      : {endpoint: 'tcp://manager.example:2376', reason: 'swarm: tcp://manager.example:2376 (--docker-host)'},
    manager,
    // The manager at its endpoint, the host's engine for the environment: as the base command's factory would.
    engines: new EngineFactory((env) => (env.DOCKER_HOST === undefined ? host : manager), {}),
    managerCli,
    hostCli,
    swarmState: options.swarmState,
    progress: (line) => progress.push(line),
    stackFile: `${ctx.paths.dir}/stack.yml`,
    overrideFile: `${ctx.paths.dir}/stack.override.yml`,
  }
  return {sw, swarm, manager, host, managerCli, hostCli, progress}
}
