/**
 * The processes a backup or restore runs in the db container (pg_dump, pg_restore, a psql holding a
 * snapshot), and how they are stopped. Closing the exec's connection does not stop them: Docker has no call
 * to kill an exec. So every such process carries a marker in its environment, and stopping means signalling
 * the processes whose environment holds it, from a second exec, until none is left. Failures while streaming
 * become stackctl errors that say what was (not) changed.
 */
import {randomBytes} from 'node:crypto'

import type {Engine} from '../../engine/engine.js'
import {StackctlError} from '../../errors.js'

/** NAME=value for the exec's environment; unique per command run. */
export function runMarker(): string {
  return `STACKCTL_RUN=${randomBytes(8).toString('hex')}`
}

/**
 * Runs `cmd`, then reads whatever is left of stdin, and exits with cmd's status. A process that stops reading
 * early (pg_restore --list reads only the table of contents; a failing restore stops at its error) would make
 * the engine close the connection while the file is still being sent, and the output still on its way (the
 * listing, the error message) could be lost with it.
 */
export function drainingStdin(cmd: string[]): string[] {
  return ['sh', '-c', '"$@"; status=$?; cat >/dev/null; exit $status', 'sh', ...cmd]
}

/**
 * Signals the marked processes named in the arguments (TERM, then KILL after 3 s) and waits until no marked
 * process is left, for at most 6 s; prints how many it signalled. Only named programs are signalled, never
 * the wrapper shell around them nor one whose parent is PID 1: in the db container PID 1 is the postmaster,
 * which adopts orphans, and a child of it that dies from a signal looks like a crashed backend, so the whole
 * server would restart. The wrapper reaps what it started, and `cat` ends when the closed connection ends its
 * input. Needs only sh, tr, grep, cat, wc and kill, all in any Debian image.
 */
const STOP_SCRIPT = `m="$1"; shift; round=0; signalled=""
while :; do
  marked=""; targets=""
  for d in /proc/[0-9]*; do
    p=\${d#/proc/}
    [ "$p" = "$$" ] && continue
    tr '\\000' '\\n' < "$d/environ" 2>/dev/null | grep -qxF "$m" || continue
    marked="$marked $p"
    comm=$(cat "$d/comm" 2>/dev/null); ppid=""
    while read -r key value; do [ "$key" = PPid: ] && ppid=$value; done < "$d/status" 2>/dev/null
    [ "$ppid" = 1 ] && continue
    for name in "$@"; do [ "$comm" = "$name" ] && targets="$targets $p"; done
  done
  for p in $targets; do case " $signalled " in *" $p "*) ;; *) signalled="$signalled $p";; esac; done
  if [ -z "$marked" ]; then echo "stopped $(echo $signalled | wc -w)"; exit 0; fi
  if [ "$round" -ge 60 ]; then echo "left$marked"; exit 1; fi
  if [ -n "$targets" ]; then
    if [ "$round" -lt 30 ]; then kill -TERM $targets 2>/dev/null; else kill -KILL $targets 2>/dev/null; fi
  fi
  round=$((round + 1)); sleep 0.1
done`

export function stopMarkedArgs(marker: string, programs: readonly string[]): string[] {
  return ['sh', '-c', STOP_SCRIPT, 'sh', marker, ...programs]
}

/**
 * Stops the marked processes running one of `programs` and waits for every marked process to end; resolves
 * how many it signalled. Failing to stop them is an error.
 */
export async function stopMarked(
  engine: Engine,
  containerId: string,
  marker: string,
  programs: readonly string[],
): Promise<number> {
  const result = await engine.containers.exec(containerId, stopMarkedArgs(marker, programs))
  const stopped = /^stopped (\d+)/m.exec(result.stdout)
  if (result.exitCode === 0 && stopped) return Number(stopped[1])
  throw new StackctlError(
    `could not stop stackctl's processes in the db container (${(result.stdout || result.stderr).trim()})`,
    {suggestion: 'restart the db container (stackctl down, then stackctl up); the data volume is kept'},
  )
}

const BROKEN_CONNECTION = new Set(['EPIPE', 'ECONNRESET', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE'])

/**
 * Any failure while streaming between a file and the db container, as one stackctl error with a hint.
 * `what` names the step ("streaming the dump from the db container"); `unchanged` says what was left as it
 * was ("nothing was written"). stackctl's own errors pass unchanged.
 */
export function streamFailure(error: unknown, what: string, unchanged: string): StackctlError {
  if (error instanceof StackctlError) return error
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? ''
  const message = error instanceof Error ? error.message : String(error)
  const fail = (problem: string, hint: string) =>
    new StackctlError(`${what} failed: ${problem}`, {suggestion: `${hint}; ${unchanged}`, cause: error})
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return fail('no space left on the device', 'free some space (or write elsewhere) and try again')
  }
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return fail(`${message}`, 'check the permissions of the file and its directory')
  }
  if (BROKEN_CONNECTION.has(code) || /ended mid-frame|socket hang up/.test(message)) {
    return fail(
      `the connection to the db container broke (${message})`,
      'check that the stack is running (stackctl status) and try again',
    )
  }
  return fail(message || 'unknown error', 'try again; DEBUG=stackctl:* shows details')
}
