/**
 * `stackctl open`: the running stack's URL, and a browser on it where one can be started (like `ddev launch`).
 * Choosing the opener is pure (browserOpener); without one the URL is printed and that is the whole job.
 */
import {stackCommand} from '../../model/config/command-line.js'
import {UsageError, StackctlError} from '../../errors.js'
import {run} from '../../engine/process/run.js'
import type {StackContext} from '../../stack/context.js'
import {stackStatus} from '../../stack/status.js'

export interface Opener {
  command: string
  args: string[]
}

/** `$BROWSER` first (as git and many CLIs honour it), then the platform's opener; none without a display. */
export function browserOpener(
  url: string,
  platform: NodeJS.Platform,
  env: Record<string, string | undefined>,
): Opener | {none: string} {
  if (env.BROWSER) return {command: env.BROWSER, args: [url]}
  if (platform === 'darwin') return {command: 'open', args: [url]}
  if (platform === 'win32') return {command: 'cmd', args: ['/c', 'start', '""', url]}
  if (!env.DISPLAY && !env.WAYLAND_DISPLAY) return {none: 'no display here (DISPLAY and WAYLAND_DISPLAY are unset)'}
  return {command: 'xdg-open', args: [url]}
}

/** A path on the API, like /visits?limit=5: it must start with one slash (not a host of its own). */
export function urlWithPath(base: string, pathAndQuery: string | undefined): string {
  if (pathAndQuery === undefined || pathAndQuery === '') return base
  if (!pathAndQuery.startsWith('/') || pathAndQuery.startsWith('//') || /[\s\\]/.test(pathAndQuery)) {
    throw new UsageError(`'${pathAndQuery}' is not a path on the API`, 'give a path such as /visits?limit=5')
  }
  return base + pathAndQuery
}

export interface OpenResult {
  url: string
  opened: boolean
  /** Why no browser was started (printing only, no opener, or the opener failed); null when one was. */
  reason: string | null
}

export interface OpenOptions {
  path?: string
  /** Only print the URL. */
  print?: boolean
  platform?: NodeJS.Platform
  env?: Record<string, string | undefined>
}

export async function openStack(ctx: StackContext, options: OpenOptions = {}): Promise<OpenResult> {
  const status = await stackStatus(ctx)
  const url = urlWithPath(status.url, options.path)
  const notReady = status.services.filter((s) => s.state !== 'running' || s.health !== 'healthy')
  if (notReady.length > 0) {
    // A URL whose API answers 503 (db stopped) or nothing is no URL to hand out, --print included.
    const states = notReady.map((s) => `${s.name} is ${s.state === 'running' ? `running, ${s.health}` : s.state}`)
    const stopped = notReady.some((s) => s.state !== 'running')
    throw new StackctlError(
      `the stack '${ctx.config.project}' is not running and healthy (${states.join(', ')}), so ${url} would not answer`,
      {
        exitCode: 1,
        suggestion: stopped
          ? `start it with ${stackCommand(ctx.config, 'up')}`
          : `see why with ${stackCommand(ctx.config, 'status')}`,
      },
    )
  }
  if (options.print) return {url, opened: false, reason: 'asked to print only'}
  const opener = browserOpener(url, options.platform ?? process.platform, options.env ?? process.env)
  if ('none' in opener) return {url, opened: false, reason: opener.none}
  const result = await run(opener.command, opener.args, {reject: false, timeoutMs: 15_000}).catch((error: Error) => ({
    exitCode: -1,
    stderr: error.message,
  }))
  if (result.exitCode !== 0) {
    return {
      url,
      opened: false,
      reason: `${opener.command} failed: ${result.stderr.trim().split('\n')[0] || `exit ${result.exitCode}`}`,
    }
  }
  return {url, opened: true, reason: null}
}
