/**
 * What a `--target swarm` command works with: the stack's configuration and directory (as for Compose, on
 * this machine's engine, which builds the images), the chosen swarm manager, and what the stack directory
 * remembers of the last swarm deploy (swarm.json).
 */
import {existsSync} from 'node:fs'
import path from 'node:path'

import type {StackConfigInput} from '../../../model/config/stack-config.js'
import type {Engine} from '../../../engine/engine.js'
import type {EngineFactory} from '../../../engine/factory.js'
import {swarmUnsupported} from '../../../engine/capabilities.js'
import {EnvironmentError, StackctlError} from '../../../errors.js'
import {readOptional, writeFileAtomic} from '../../../model/stackdir/files.js'
import {shellQuote, stackCommand} from '../../../model/config/command-line.js'
import {loadStack, type StackContext} from '../../../stack/context.js'
import {DockerCli} from '../../../engine/docker-cli.js'
import {chooseSwarmTarget, type TargetChoice} from '../endpoint-choice.js'
import {hostEndpoint, hostEnv, listLocalSwarms} from './local-swarm.js'
import type {HaSettings} from '../ha/spec.js'

/** This machine's engine: the swarm target's endpoint when no other is named or up. */
const THIS_ENGINE = 'unix:///var/run/docker.sock'

export interface SwarmStackState {
  stackId: string
  /** The manager last deployed to. */
  endpoint: string
  dbNode: string
  replicas: number
  /** The secret's version: it goes up each time the password file's content changes. */
  secretVersion: number
  passwordSha256: string
  registry?: string
  /** Set when the database is the HA tier (--db-replicas 3): its members' nodes and the durability. */
  ha?: HaSettings
}

export interface SwarmContext {
  stack: StackContext
  target: TargetChoice
  manager: Engine
  /** The command's engines: a node's own engine (where the db's volume lives) comes from here. */
  engines: EngineFactory
  managerCli: DockerCli
  hostCli: DockerCli
  swarmState: SwarmStackState | undefined
  progress: (line: string) => void
  /** Where the rendered stack file goes. */
  stackFile: string
  /** The user's own additions, layered over the stack file when present (never written by stackctl). */
  overrideFile: string
}

export async function loadSwarm(
  flags: StackConfigInput & {adopt?: boolean; dockerHost?: string},
  options: {progress?: (line: string) => void; env?: NodeJS.ProcessEnv; engines: EngineFactory},
): Promise<SwarmContext> {
  const env = options.env ?? process.env
  const host = hostEnv(env)
  const stack = await loadStack(flags, {env: host, engines: options.engines, progress: options.progress})
  const hostEngine = stack.engine
  const localSwarms = await hostEngine.ping().then(
    () => listLocalSwarms(hostEngine),
    () => [],
  )
  const target = chooseSwarmTarget({
    dockerHostFlag: flags.dockerHost,
    envDockerHost: env.DOCKER_HOST,
    localSwarms,
    defaultEndpoint: THIS_ENGINE,
  })
  const manager = options.engines.at(target.endpoint)
  const swarmFile = path.join(stack.paths.dir, 'swarm.json')
  return {
    stack,
    target,
    manager,
    engines: options.engines,
    managerCli: options.engines.cli(target.endpoint),
    hostCli: options.engines.cli(hostEndpoint(env)),
    swarmState: await readSwarmState(swarmFile),
    progress: options.progress ?? (() => {}),
    stackFile: path.join(stack.paths.dir, 'stack.yml'),
    overrideFile: path.join(stack.paths.dir, 'stack.override.yml'),
  }
}

/**
 * `stackctl VERB … --target swarm` for a hint: addressed to this stack (--dir, --project-name) and to this swarm
 * (--docker-host unless it is this machine's engine), so it acts on the same stack and swarm when pasted
 * elsewhere, whatever DOCKER_HOST says there or however many local swarms are up by then.
 */
export function swarmCommand(sw: Pick<SwarmContext, 'stack' | 'target'>, verb: string): string {
  const words = [stackCommand(sw.stack.config, verb), '--target swarm']
  if (sw.target.endpoint !== THIS_ENGINE) words.push(`--docker-host ${shellQuote(sw.target.endpoint)}`)
  return words.join(' ')
}

/** `docker …` on the swarm's manager, for a hint. */
export function managerDocker(sw: Pick<SwarmContext, 'target'>, args: string): string {
  return sw.target.endpoint === THIS_ENGINE
    ? `docker ${args}`
    : `docker --host ${shellQuote(sw.target.endpoint)} ${args}`
}

/** Where to see why the stack's tasks are not running: stackctl's status and the manager's own task list. */
export function tasksHint(sw: Pick<SwarmContext, 'stack' | 'target'>): string {
  const stack = sw.stack.config.project
  return `see the tasks with: ${swarmCommand(sw, 'status')} (or ${managerDocker(sw, `stack ps --no-trunc ${stack}`)})`
}

/** The manager answers and manages a swarm; otherwise one line saying which engine and what to do. */
export async function assertManager(sw: SwarmContext): Promise<void> {
  await sw.manager.ping()
  const unsupported = swarmUnsupported(await sw.manager.describe())
  if (unsupported) {
    throw new EnvironmentError(
      `${sw.target.endpoint} cannot be a swarm target: ${unsupported}`,
      `on this engine the stack runs with Compose: ${stackCommand(sw.stack.config, 'up')}; for a swarm, pass --docker-host of a rootful Docker swarm manager`,
    )
  }
  const state = await sw.manager.swarm.state()
  if (!state.active || !state.manager) {
    throw new EnvironmentError(
      `${sw.target.endpoint} is ${state.active ? 'a swarm worker, not a manager' : 'not part of a swarm'}`,
      'start a local one with stackctl swarm up, or pass --docker-host (or DOCKER_HOST) of a swarm manager',
    )
  }
}

function swarmStateFile(sw: Pick<SwarmContext, 'stack'>): string {
  return path.join(sw.stack.paths.dir, 'swarm.json')
}

async function readSwarmState(file: string): Promise<SwarmStackState | undefined> {
  const text = await readOptional(file)
  if (text === undefined) return undefined
  try {
    return JSON.parse(text) as SwarmStackState
  } catch {
    throw new StackctlError(`${file} is not valid JSON`, {
      exitCode: 2,
      suggestion:
        'restore it from your copy of the stack directory; it records the swarm deploy (db node, secret version)',
    })
  }
}

export async function writeSwarmState(sw: SwarmContext, state: SwarmStackState): Promise<void> {
  await writeFileAtomic(swarmStateFile(sw), `${JSON.stringify(state, null, 2)}\n`, 0o644)
  sw.swarmState = state
}

export function overrideFiles(sw: SwarmContext): string[] {
  return existsSync(sw.overrideFile) ? [sw.stackFile, sw.overrideFile] : [sw.stackFile]
}
