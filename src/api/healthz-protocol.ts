/**
 * What the API's GET /healthz answers, read the same way on both of its sides: by the API's own container
 * health check (src/api/healthcheck.ts) and by stackctl's readiness probe (src/lib/targets/compose/readiness.ts).
 * Both must word a failure alike, since stackctl shows one where the engine kept the other. Plain code with no
 * imports: the API is bundled on its own (and runs from src/api alone in dev mode), so the contract lives in the
 * API's folder and this one file is the CLI's exception to "the CLI does not import the API's code" (eslint).
 */

/**
 * The header every API response carries with the stack it serves (its stack id, from STACKCTL_STACK): a port
 * forwarded elsewhere (another engine's container, a rule left behind) can answer for another stack, and
 * stackctl must never count that stack's answers as this one's. Lower case, as node's http client gives it.
 */
export const STACK_HEADER = 'x-stackctl-stack'

/** How foreignStack's line starts, for callers that single it out among other probe failures. */
export const FOREIGN_PREFIX = 'the port is answered by the API of another stack'

/** Pure: why an answer on this stack's port is not from this stack's API; undefined when it may be. */
export function foreignStack(
  answered: string | string[] | undefined,
  expected: string | undefined,
): string | undefined {
  const stack = Array.isArray(answered) ? answered[0] : answered
  // An API from before the header says nothing: it cannot be told apart, and is taken at its word.
  if (expected === undefined || stack === undefined || stack === expected) return undefined
  return `${FOREIGN_PREFIX} (${stack}), not this one's (${expected}): another engine's container or a forwarding rule left behind holds it`
}

/** The one line a failed /healthz gives, from its status and body (`{"reason": …}` on 503). */
export function healthzReason(status: number | undefined, body: string): string {
  let reason: unknown
  try {
    reason = (JSON.parse(body) as {reason?: unknown}).reason
  } catch {
    // not JSON: the status says enough
  }
  if (status === 503) return `db unavailable: ${typeof reason === 'string' ? reason : 'no reason given'}`
  return `/healthz answered HTTP ${status ?? '?'}`
}
