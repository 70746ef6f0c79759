/**
 * The API's configuration, read from the environment only (the official postgres image's variable names).
 * Pure: the environment and the file reader are passed in, so every rule is unit-tested.
 */
export interface ApiConfig {
  /** Address the HTTP server listens on. */
  host: string
  port: number
  message: string
  /** The stack it serves (stackctl's stack id), sent with every answer; null when not given. */
  stack: string | null
  db: DbConfig
}

export interface DbConfig {
  host: string
  port: number
  user: string
  database: string
  /** As read at start. */
  password: string
  /** Where the password came from, when from a file: read again for every new connection. */
  passwordFile?: string
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

export type Env = Record<string, string | undefined>
export type ReadTextFile = (file: string) => string
export type ReadTextFileAsync = (file: string) => Promise<string>

export const DEFAULT_MESSAGE = 'Hello from the stackctl visit tracker!'

/** PostgreSQL truncates identifiers to 63 bytes (NAMEDATALEN - 1); a longer name would silently differ. */
const MAX_IDENTIFIER_BYTES = 63
const MAX_MESSAGE_LENGTH = 500
const HOST_PATTERN = /^[A-Za-z0-9._:-]+$/

/** An unset or empty variable counts as not given, as in Compose files that leave a value blank. */
function given(env: Env, name: string): string | undefined {
  const value = env[name]
  return value === undefined || value === '' ? undefined : value
}

export function parsePort(name: string, value: string): number {
  const port = /^\d{1,5}$/.test(value) ? Number(value) : Number.NaN
  if (!(port >= 1 && port <= 65_535)) throw new ConfigError(`${name} must be a port number 1-65535, got '${value}'`)
  return port
}

function parseHost(name: string, value: string): string {
  if (!HOST_PATTERN.test(value)) throw new ConfigError(`${name} must be a host name or IP address, got '${value}'`)
  return value
}

function parseIdentifier(name: string, value: string): string {
  if (value.includes('\0') || Buffer.byteLength(value) > MAX_IDENTIFIER_BYTES) {
    throw new ConfigError(`${name} must be at most ${MAX_IDENTIFIER_BYTES} bytes without NUL characters`)
  }
  return value
}

/** Trailing newlines are dropped, as the official image's entrypoint does. */
function passwordFromFile(text: string): string {
  return text.replace(/[\r\n]+$/, '')
}

/** The file wins over the variable. */
function readPassword(env: Env, readTextFile: ReadTextFile): string {
  const file = given(env, 'POSTGRES_PASSWORD_FILE')
  let password: string | undefined
  if (file === undefined) {
    password = given(env, 'POSTGRES_PASSWORD')
  } else {
    try {
      password = passwordFromFile(readTextFile(file))
    } catch (error) {
      const code = (error as {code?: string}).code ?? 'read error'
      throw new ConfigError(`POSTGRES_PASSWORD_FILE ${file} cannot be read (${code})`)
    }
    if (password === '') throw new ConfigError(`POSTGRES_PASSWORD_FILE ${file} is empty`)
  }
  if (password === undefined) throw new ConfigError('set POSTGRES_PASSWORD_FILE or POSTGRES_PASSWORD')
  return password
}

export function parseConfig(env: Env, readTextFile: ReadTextFile): ApiConfig {
  const user = parseIdentifier('POSTGRES_USER', given(env, 'POSTGRES_USER') ?? 'postgres')
  const message = given(env, 'APP_MESSAGE') ?? DEFAULT_MESSAGE
  if (message.length > MAX_MESSAGE_LENGTH) {
    throw new ConfigError(`APP_MESSAGE must be at most ${MAX_MESSAGE_LENGTH} characters`)
  }
  const stack = given(env, 'STACKCTL_STACK') ?? null
  if (stack !== null && !/^[A-Za-z0-9._-]{1,128}$/.test(stack)) {
    throw new ConfigError('STACKCTL_STACK must be 1-128 letters, digits, dots, dashes or underscores')
  }
  return {
    host: parseHost('HOST', given(env, 'HOST') ?? '0.0.0.0'),
    port: parsePort('PORT', given(env, 'PORT') ?? '5000'),
    message,
    stack,
    db: {
      host: parseHost('POSTGRES_HOST', given(env, 'POSTGRES_HOST') ?? 'db'),
      port: parsePort('POSTGRES_PORT', given(env, 'POSTGRES_PORT') ?? '5432'),
      user,
      database: parseIdentifier('POSTGRES_DB', given(env, 'POSTGRES_DB') ?? user),
      password: readPassword(env, readTextFile),
      ...(given(env, 'POSTGRES_PASSWORD_FILE') === undefined ? {} : {passwordFile: env.POSTGRES_PASSWORD_FILE}),
    },
  }
}

/**
 * The password as node-postgres takes it: from a file, a function that reads the file again for every new
 * connection, so a password file fixed after an authentication failure is used without a restart. A file
 * that cannot be read or is empty at that moment (being replaced) gives the last password read.
 */
export function passwordSource(db: DbConfig, readTextFile: ReadTextFileAsync): string | (() => Promise<string>) {
  const file = db.passwordFile
  if (file === undefined) return db.password
  let last = db.password
  return async () => {
    try {
      const password = passwordFromFile(await readTextFile(file))
      if (password !== '') last = password
    } catch {
      // keep the last one: the next connection tries the file again
    }
    return last
  }
}

/** The configuration as it may be logged: everything but the password (its file's name is fine). */
export function describeConfig(config: ApiConfig): Record<string, unknown> {
  const {password: _password, ...db} = config.db
  return {host: config.host, port: config.port, stack: config.stack, db}
}
