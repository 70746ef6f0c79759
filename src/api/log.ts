/**
 * One JSON object per line: info to stdout, errors to stderr. Only the start/stop of the service and errors
 * are logged, never a request line and never a credential.
 */
export type LogFields = Record<string, unknown>

export interface Logger {
  info(msg: string, fields?: LogFields): void
  error(msg: string, fields?: LogFields): void
}

function line(level: string, msg: string, fields: LogFields): string {
  return JSON.stringify({time: new Date().toISOString(), level, msg, ...fields}) + '\n'
}

export const jsonLogger: Logger = {
  info: (msg, fields = {}) => process.stdout.write(line('info', msg, fields)),
  error: (msg, fields = {}) => process.stderr.write(line('error', msg, fields)),
}

/** What an error may show in a log: its message and code, and its stack when asked for (unexpected errors). */
export function errorFields(error: unknown, options: {stack?: boolean} = {}): LogFields {
  if (!(error instanceof Error)) return {error: String(error)}
  const code = (error as {code?: unknown}).code
  return {
    error: error.message,
    ...(code === undefined ? {} : {code}),
    ...(options.stack ? {stack: error.stack} : {}),
  }
}
