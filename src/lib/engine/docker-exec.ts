/**
 * `docker exec` for a process attached to the user's own terminal or pipes (psql, exec): the docker CLI
 * relays stdin, stdout, stderr, a terminal's size and signals, and exits with the process's code — what the
 * Engine API's exec (engine.ts) would need a hand-written relay for. The argument builder is pure.
 */

/** stdin is always passed (`-i`: piped input works); a terminal only when there is one (`-t`). */
export function dockerExecArgs(containerId: string, command: readonly string[], tty: boolean): string[] {
  return ['exec', '-i', ...(tty ? ['-t'] : []), containerId, ...command]
}

/** An interactive shell: bash where the image has it (the db's Debian), else sh (a slim image may lack bash). */
export const INTERACTIVE_SHELL = ['sh', '-c', 'if command -v bash >/dev/null 2>&1; then exec bash; else exec sh; fi']
