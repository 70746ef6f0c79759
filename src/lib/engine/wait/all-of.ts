import {failed, type Look, type Probe, ready, waiting} from './wait-until.js'

type ValueOf<P> = P extends Probe<infer T, unknown> ? T : never
type ObservedOf<P> = P extends Probe<unknown, infer O> ? O : never

/**
 * Several conditions that must hold at once (a stack's tasks gone and its network gone): one probe that looks
 * at all of them together each time. Ready when every one is ready, with their values by name; failed as soon
 * as one fails; otherwise waiting, observing the ones not ready (a timeout names only what was still missing).
 */
export function allOf<P extends Record<string, Probe<unknown, unknown>>>(
  probes: P,
): Probe<{[K in keyof P]: ValueOf<P[K]>}, Partial<{[K in keyof P]: ObservedOf<P[K]>}>> {
  type Values = {[K in keyof P]: ValueOf<P[K]>}
  type Observed = Partial<{[K in keyof P]: ObservedOf<P[K]>}>
  return async (attempt) => {
    const names = Object.keys(probes) as (keyof P & string)[]
    const looks = await Promise.all(names.map((name) => probes[name](attempt) as Promise<Look<unknown, unknown>>))
    const values: Record<string, unknown> = {}
    const observed: Record<string, unknown> = {}
    let failure = false
    for (const [i, look] of looks.entries()) {
      if (look.state === 'ready') values[names[i]] = look.value
      else {
        observed[names[i]] = look.observed
        failure ||= look.state === 'failed'
      }
    }
    if (failure) return failed(observed as Observed)
    return Object.keys(observed).length === 0 ? ready(values as Values) : waiting(observed as Observed)
  }
}
