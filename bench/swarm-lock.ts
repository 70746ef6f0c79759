/**
 * Only one local swarm at a time on a machine: two at once broke cross-node traffic. `--only ha` makes one, so
 * it first takes an exclusive flock(1) on a lock file that every other swarm user on the machine takes too (the
 * swarm tests are run under `flock FILE`): STACKCTL_SWARM_LOCK, else `swarm.lock` in stackctl's state directory.
 *
 * The lock is held by a helper, `flock --close FILE sh -c 'echo held; read _'`, in a process group of its own (a
 * Ctrl-C typed in the terminal does not reach it, so the lock stays held while this run removes its swarm). It
 * lets go when told to, and by itself when this process dies however it dies: its shell's stdin is a pipe from
 * this process, which then closes.
 */
import path from 'node:path'

import {run} from '../src/lib/engine/process/run.js'
import {stateDirectory} from '../src/lib/stack/lock.js'

export function swarmLockFile(env: NodeJS.ProcessEnv = process.env): string {
  return env.STACKCTL_SWARM_LOCK || path.join(stateDirectory(env), 'swarm.lock')
}

export function holderArgs(file: string): string[] {
  return ['--close', file, 'sh', '-c', 'echo held; read _']
}

/**
 * Waits until the lock is this process's; resolves the function that lets it go. `signal` (Ctrl-C) ends the
 * wait: then it rejects with the signal's reason, holding nothing.
 */
export async function holdSwarmLock(
  file: string,
  log: (message: string) => void,
  signal: AbortSignal,
): Promise<() => Promise<void>> {
  const release = new AbortController()
  let held: () => void = () => {}
  const acquired = new Promise<void>((resolve) => (held = resolve))
  const holder = run('flock', holderArgs(file), {
    shield: true,
    reject: false,
    signal: release.signal,
    onLine: (line) => {
      if (line === 'held') held()
    },
  })
  const ended = holder.then((result) => {
    throw new Error(
      `flock ${file} ended before the lock was held: ${result.stderr.trim() || `exit ${result.exitCode}`}`,
    )
  })
  // Once the lock is held, the helper's end (when it is let go) is no error.
  ended.catch(() => undefined)
  const letGo = async () => {
    release.abort()
    await holder.catch(() => undefined)
  }
  const waiting = setTimeout(() => log(`waiting for the swarm lock ${file} (another local swarm is in use)`), 1000)
  let onAbort: () => void = () => {}
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, {once: true})
  })
  try {
    await Promise.race([acquired, ended, aborted])
  } catch (error) {
    await letGo()
    throw error
  } finally {
    clearTimeout(waiting)
    signal.removeEventListener('abort', onAbort)
  }
  log(`swarm lock ${file} held`)
  return letGo
}
