/**
 * Other work that keeps the cores busy while the API is measured: a child node process whose worker threads
 * spin until a deadline. It is bounded twice: it ends by itself at its deadline, and stop() ends it earlier.
 * Started through stackctl's process runner; its CPU shows in the "other" column, not in the load
 * generator's.
 */
import {run} from '../src/lib/engine/process/run.js'

const SCRIPT = `
const {Worker} = require('node:worker_threads')
const [threads, ms] = process.argv.slice(1).map(Number)
const end = Date.now() + ms
for (let i = 0; i < threads; i++) new Worker('while (Date.now() < ' + end + ') {}', {eval: true})
`

export interface Burner {
  stop(): Promise<void>
}

export function startBurner(threads: number, maxSeconds: number): Burner {
  const abort = new AbortController()
  const done = run(process.execPath, ['-e', SCRIPT, String(threads), String(maxSeconds * 1000)], {
    signal: abort.signal,
    timeoutMs: (maxSeconds + 5) * 1000,
    reject: false,
  }).then(
    () => undefined,
    () => undefined,
  )
  return {
    async stop() {
      abort.abort()
      await done
    },
  }
}
