/**
 * What the engine's last health check said for each unhealthy service, for `status`: the problem line then
 * shows why (e.g. the API's `db unavailable: …`), not only that it is unhealthy.
 */
import type {ContainerClient} from '../engine/engine.js'

/** The longest check output a status line shows (the engine keeps up to 4 KiB of it). */
const MAX_CHARS = 200

export async function lastHealthChecks(
  containers: Pick<ContainerClient, 'inspect'>,
  listed: ReadonlyArray<{service: string; id?: string; state: string; health: string}>,
): Promise<Map<string, string>> {
  const checks = new Map<string, string>()
  for (const c of listed) {
    if (c.state !== 'running' || c.health !== 'unhealthy' || c.id === undefined) continue
    const output = (await containers.inspect(c.id))?.health?.lastOutput?.trim()
    const line = output?.split('\n').filter(Boolean).at(-1)
    if (line) checks.set(c.service, line.length > MAX_CHARS ? `${line.slice(0, MAX_CHARS)}…` : line)
  }
  return checks
}
