/**
 * Checks made before a build spends a minute: each failure is one line naming what is missing and one saying
 * how to get it, instead of a debootstrap log tail half-way through.
 */
import {access, constants} from 'node:fs/promises'
import path from 'node:path'

import {EnvironmentError} from '../../errors.js'
import {DockerCli} from '../docker-cli.js'
import {releaseUrl} from './image-specs.js'

const INSTALL_HINT = 'install it (apt-get install debootstrap), or run scripts/docker-engine.sh which does'

/** debootstrap lives in /usr/sbin, which is not on every user's PATH: look there too. */
export async function findDebootstrap(
  pathEnv = process.env.PATH ?? '',
  sbinDirs: readonly string[] = ['/usr/sbin', '/sbin'],
): Promise<string> {
  const dirs = [...pathEnv.split(path.delimiter).filter(Boolean), ...sbinDirs]
  for (const dir of dirs) {
    const candidate = path.join(dir, 'debootstrap')
    try {
      await access(candidate, constants.X_OK)
      return candidate
    } catch {
      // not in this folder
    }
  }
  throw new EnvironmentError('debootstrap is not installed', INSTALL_HINT)
}

/** debootstrap creates device nodes, chroots and sets file owners: only root can. */
export function assertRoot(uid: number | undefined = process.getuid?.()): void {
  if (uid !== 0) {
    throw new EnvironmentError(
      'building the base images needs root (debootstrap creates a root filesystem)',
      'run it as root, e.g. sudo stackctl images build',
    )
  }
}

/** Asks the mirror for the suite's Release file with a short timeout, so an unreachable mirror fails fast. */
export async function checkMirror(mirror: string, suite: string, timeoutMs = 10_000): Promise<void> {
  const url = releaseUrl(mirror, suite)
  let status: number
  try {
    status = (await fetch(url, {method: 'HEAD', redirect: 'follow', signal: AbortSignal.timeout(timeoutMs)})).status
  } catch (error) {
    const reason =
      (error as {name?: string}).name === 'TimeoutError' ? `no answer within ${timeoutMs / 1000} s` : cause(error)
    throw new EnvironmentError(
      `cannot reach the Debian mirror ${mirror} (${reason})`,
      'check the network, or pass --mirror (or STACKCTL_DEBIAN_MIRROR) with a reachable Debian mirror',
      error,
    )
  }
  if (status === 404) {
    throw new EnvironmentError(
      `the Debian mirror ${mirror} has no suite '${suite}' (${url}: 404)`,
      'check --suite and --mirror (a Debian mirror URL ends in /debian)',
    )
  }
  if (status >= 400) {
    throw new EnvironmentError(`the Debian mirror ${mirror} answered HTTP ${status} for ${url}`, 'try another --mirror')
  }
}

function cause(error: unknown): string {
  const inner = (error as {cause?: {code?: string; message?: string}}).cause
  return inner?.code ?? inner?.message ?? (error as Error).message
}

/** Whether the docker CLI has the buildx plugin (without it BuildKit builds fail; see buildEnv). */
export function buildxAvailable(docker: DockerCli): Promise<boolean> {
  return docker.buildxAvailable()
}
