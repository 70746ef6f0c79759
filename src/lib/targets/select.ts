/**
 * The one place the target is chosen: from --target and the flags that go with it. A flag that belongs to the
 * other target is a usage error (one line, exit 2, nothing changed), never silently ignored.
 */
import {configInput} from '../cli/flags.js'
import type {EngineFactory} from '../engine/factory.js'
import {UsageError} from '../errors.js'
import {givenKubernetesFlags} from './kubernetes/flags.js'
import type {KubernetesFlags} from './kubernetes/options.js'
import {swarmDeployFlags, swarmTargetFlags} from './swarm/cluster/flags.js'
import {ComposeTarget} from './compose/compose-target.js'
import {KubernetesRenderer} from './kubernetes/kubernetes-renderer.js'
import {SwarmTarget} from './swarm/swarm-target.js'
import type {DeployTarget, Renderer} from './target.js'

/** The commands that run on a deploy target. */
export type TargetCommand =
  | 'up'
  | 'down'
  | 'status'
  | 'logs'
  | 'verify-persistence'
  | 'volume inspect'
  | 'volume backup'
  | 'volume restore'
  | 'db switchover'
  | 'db failover'
  | 'doctor'

interface FlagRule {
  /** Flags of --target swarm only. */
  swarmOnly: readonly string[]
  /** Flags of --target compose only, and how the refusal reads. */
  composeOnly?: {flags: readonly string[]; message: string; hint: string}
}

const SWARM_TARGET = Object.keys(swarmTargetFlags)
const ADOPT_ONLY = {flags: ['adopt'], message: '--adopt only applies to --target compose', hint: 'omit it'}

export const TARGET_FLAG_RULES: Record<TargetCommand, FlagRule> = {
  up: {
    swarmOnly: Object.keys(swarmDeployFlags),
    composeOnly: {
      // --wal-archive too: the swarm target does not archive its WAL yet (issue 25 wants its repository on
      // another node than the db's); --no-wal-archive says what it does, so it passes.
      flags: ['dev', 'adopt', 'db-port', 'wal-archive'],
      message: '--dev, --adopt, --db-port and --wal-archive only apply to --target compose',
      hint: 'omit them (the swarm target does not archive its WAL yet)',
    },
  },
  down: {swarmOnly: SWARM_TARGET},
  status: {swarmOnly: SWARM_TARGET},
  logs: {swarmOnly: SWARM_TARGET},
  'verify-persistence': {
    swarmOnly: SWARM_TARGET,
    composeOnly: {
      flags: ['adopt', 'keep-running'],
      message: '--adopt and --keep-running only apply to --target compose',
      hint: 'omit them',
    },
  },
  'volume inspect': {swarmOnly: SWARM_TARGET},
  'volume backup': {swarmOnly: SWARM_TARGET, composeOnly: ADOPT_ONLY},
  'volume restore': {swarmOnly: SWARM_TARGET, composeOnly: ADOPT_ONLY},
  'db switchover': {swarmOnly: SWARM_TARGET},
  'db failover': {swarmOnly: SWARM_TARGET},
  doctor: {
    swarmOnly: SWARM_TARGET,
    composeOnly: {flags: ['db-port'], message: '--db-port only applies to --target compose', hint: 'omit it'},
  },
}

export type TargetFlags = Parameters<typeof configInput>[0] & {target?: string; 'docker-host'?: string} & Record<
    string,
    unknown
  >

/** A flag counts as given when it has a value (a boolean flag: when it is set). */
function given(flags: Record<string, unknown>, name: string): boolean {
  return flags[name] !== undefined && flags[name] !== false
}

/** Flags of the other target, as `--name`, in the order of `names`. */
export function givenFlags(flags: Record<string, unknown>, names: readonly string[]): string[] {
  return names.filter((name) => given(flags, name)).map((name) => `--${name}`)
}

/** The deploy target the flags name, after checking that every given flag applies to it. */
export function targetFromFlags(flags: TargetFlags, command: TargetCommand, engines: EngineFactory): DeployTarget {
  const rule = TARGET_FLAG_RULES[command]
  const target = flags.target ?? 'compose'
  if (target !== 'compose' && target !== 'swarm') {
    throw new UsageError(`--target ${target} does not apply to ${command}`, 'use --target compose or --target swarm')
  }
  if (target === 'compose') {
    const stray = givenFlags(flags, rule.swarmOnly)
    if (stray.length > 0) throw new UsageError(`${stray.join(', ')} only apply to --target swarm`, 'add --target swarm')
    return new ComposeTarget(configInput(flags), engines)
  }
  if (rule.composeOnly && givenFlags(flags, rule.composeOnly.flags).length > 0) {
    throw new UsageError(rule.composeOnly.message, rule.composeOnly.hint)
  }
  return new SwarmTarget(configInput(flags), flags['docker-host'], engines)
}

/** What `render` writes: the Compose files, a swarm stack file, or Kubernetes manifests. */
export function rendererFromFlags(
  flags: TargetFlags & KubernetesFlags & {force?: boolean},
  version: string,
  engines: EngineFactory,
): Renderer {
  const kubernetesOnly = givenKubernetesFlags(flags)
  const target = flags.target ?? 'compose'
  if (target === 'kubernetes') {
    if (flags.adopt) throw new UsageError('--adopt only applies to --target compose', 'omit --adopt')
    return new KubernetesRenderer(configInput(flags), flags, version)
  }
  if (target === 'swarm') {
    const stray = kubernetesOnly.filter((flag) => flag !== '--replicas')
    if (stray.length > 0 || flags.adopt || flags.force) {
      throw new UsageError(
        `${[...stray, ...(flags.adopt ? ['--adopt'] : []), ...(flags.force ? ['--force'] : [])].join(', ')} do not apply to --target swarm`,
        'omit them',
      )
    }
    return new SwarmTarget(configInput(flags), undefined, engines)
  }
  if (kubernetesOnly.length > 0) {
    throw new UsageError(`${kubernetesOnly.join(', ')} only apply to --target kubernetes`, 'add --target kubernetes')
  }
  return new ComposeTarget(configInput(flags), engines)
}
