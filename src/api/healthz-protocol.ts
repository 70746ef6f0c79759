/**
 * What the API's GET /healthz answers, read the same way on both of its sides: by the API's own container
 * health check (src/api/healthcheck.ts) and by stackctl's readiness probe (src/lib/targets/compose/readiness.ts).
 * Both must word a failure alike, since stackctl shows one where the engine kept the other. Plain code with no
 * imports: the API is bundled on its own (and runs from src/api alone in dev mode), so the contract lives in the
 * API's folder and this one file is the CLI's exception to "the CLI does not import the API's code" (eslint).
 */

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
