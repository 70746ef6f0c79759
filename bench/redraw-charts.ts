/**
 * `npm run bench:charts`: redraws the charts from the runs recorded in bench/results/ (the newest is the
 * latest), without measuring anything. `npm run bench` draws them itself after a run it writes.
 */
import path from 'node:path'

import {recordedRuns, writeCharts} from './chart-render.js'
import {repoRoot} from './proc.js'
import {runStamp} from './markdown.js'

const runs = await recordedRuns(repoRoot)
const latest = [...runs].sort((a, b) => a.startedAt.localeCompare(b.startedAt)).at(-1)
if (!latest) {
  process.stderr.write('no recorded runs in bench/results/: run npm run bench first\n')
  process.exit(2)
}
const written = await writeCharts(repoRoot, latest, runs, path.join('bench', 'results', `${runStamp(latest)}.json`))
process.stdout.write(`wrote ${written.join(', ')} and the charts section of BENCHMARKS.md\n`)
