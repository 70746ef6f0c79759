/**
 * What doctor checks of the engine's host beyond rootful Docker (issue 24): a rootless engine's network device
 * and its cgroup limits, Podman's ulimits. Each says what it found and the fix; nothing is changed.
 */
import {constants} from 'node:fs'
import {access, stat} from 'node:fs/promises'

import {limitsIgnored, rlimitFailure, ulimitsFix, engineName} from '../../engine/capabilities.js'
import type {Engine, EngineDescription} from '../../engine/engine.js'
import type {CheckResult} from './checks.js'

export const TUN_DEVICE = '/dev/net/tun'

export interface HostCheckOptions {
  /** A stack image on the engine to start the ulimits probe from; undefined when there is none yet. */
  probeImage: string | undefined
  /** The device slirp4netns opens (a test points it elsewhere). */
  tunDevice?: string
}

export async function engineHostChecks(
  engine: Engine,
  described: EngineDescription,
  options: HostCheckOptions,
): Promise<CheckResult[]> {
  const checks: CheckResult[] = []
  // Only for an engine on this machine: a remote engine's device is not this one's.
  if (described.rootless && engine.endpoint.startsWith('unix://')) {
    const user = await checkUser(engine.endpoint.slice('unix://'.length))
    if (user) checks.push(user)
    checks.push(await checkTun(options.tunDevice ?? TUN_DEVICE))
  }
  if (limitsIgnored(described)) {
    checks.push({
      name: 'limits',
      status: 'warn',
      detail: `${engineName(described)} on cgroup v1 ignores the stack's memory and pids limits (mem_limit, pids_limit): the containers run unlimited`,
      fix: 'run the engine on a cgroup v2 host with the memory and pids controllers delegated to its user, or use a rootful engine',
    })
  }
  if (described.kind === 'podman') checks.push(await checkUlimits(engine, described, options.probeImage))
  return checks
}

/**
 * A rootless engine's socket belongs to the user it runs as. stackctl run as anyone else (root, say) writes a
 * password file and a stack directory that user's containers cannot read: the API fails with EACCES.
 */
async function checkUser(socket: string): Promise<CheckResult | undefined> {
  const uid = process.getuid?.()
  const owner = await stat(socket).then(
    (info) => info.uid,
    () => undefined,
  )
  if (owner === undefined) return undefined // a socket it cannot see: nothing to compare
  if (owner === uid) {
    return {name: 'user', status: 'ok', detail: `stackctl runs as uid ${uid}, the rootless engine's own user`}
  }
  return {
    name: 'user',
    status: 'fail',
    detail: `the rootless engine runs as uid ${owner} (it owns ${socket}), stackctl as uid ${uid}: its containers cannot read this stack's password file`,
    fix: `run stackctl as the engine's user (uid ${owner}), from a directory that user owns`,
  }
}

/** slirp4netns, a rootless engine's network, opens the device as the engine's (this) user. */
async function checkTun(device: string): Promise<CheckResult> {
  const uid = process.getuid?.()
  try {
    await access(device, constants.R_OK | constants.W_OK)
    return {
      name: 'network',
      status: 'ok',
      detail: `${device} is usable by uid ${uid} (slirp4netns, rootless networking)`,
    }
  } catch (error) {
    return {
      name: 'network',
      status: 'fail',
      detail: `${device} cannot be opened for reading and writing by uid ${uid} (${(error as NodeJS.ErrnoException).code}): a rootless engine's containers get no network`,
      fix: `sudo chmod 0666 ${device} (the mode udev gives it; slirp4netns opens it as you)`,
    }
  }
}

/** Starts one container that does nothing (no network, removed after): the only proof the ulimits are usable. */
async function checkUlimits(
  engine: Engine,
  described: EngineDescription,
  image: string | undefined,
): Promise<CheckResult> {
  const unchecked = (why: string): CheckResult => ({name: 'ulimits', status: 'warn', detail: `not checked: ${why}`})
  if (image === undefined) return unchecked('no stack image on the engine to start a container from')
  try {
    const result = await engine.containers.runOneShot({image, entrypoint: ['true'], cmd: [], readOnlyVolumes: {}})
    if (result.exitCode === 0) return {name: 'ulimits', status: 'ok', detail: 'a container starts with its ulimits'}
    const failure = rlimitFailure(result.stderr)
    if (failure) return ulimitsFailed(described, failure)
    return unchecked(`a test container exited ${result.exitCode} (${result.stderr.trim().split('\n')[0]})`)
  } catch (error) {
    const failure = rlimitFailure((error as Error).message)
    if (failure) return ulimitsFailed(described, failure)
    return unchecked(`a test container did not start (${(error as Error).message.split('\n')[0]})`)
  }
}

function ulimitsFailed(described: EngineDescription, failure: string): CheckResult {
  return {
    name: 'ulimits',
    status: 'fail',
    detail: `no container starts: its default ulimits exceed this host's hard limits (${failure})`,
    fix: ulimitsFix(described),
  }
}
