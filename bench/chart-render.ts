/**
 * Renders bench/charts.ts's specs to SVG with Vega (headless, no canvas or native code: text is measured by
 * Vega's own estimate, so a chart is the same on every machine) and writes them beside BENCHMARKS.md, with the
 * section that embeds them.
 */
import {randomBytes} from 'node:crypto'
import {mkdir, readdir, readFile, rename, writeFile} from 'node:fs/promises'
import path from 'node:path'

import {parse, View} from 'vega'
import {compile, type TopLevelSpec} from 'vega-lite'

import {chartSpecs, chartsSection, CHARTS_DIR} from './charts.js'
import {replaceSection} from './markdown.js'
import type {BenchResults} from './results.js'

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), {renderer: 'none'})
  try {
    return await view.toSVG()
  } finally {
    view.finalize()
  }
}

/** A full run's file, `<date>.json`; one step's own (`engines-<date>.json`) holds other results. */
export function isFullRunFile(name: string): boolean {
  return /^\d{4}-\d{2}-\d{2}T[\d-]+Z\.json$/.test(name)
}

/** Every full run recorded in bench/results/ (the JSON each run writes). */
export async function recordedRuns(repoRoot: string): Promise<BenchResults[]> {
  const dir = path.join(repoRoot, 'bench', 'results')
  const files = (await readdir(dir)).filter(isFullRunFile).sort()
  return Promise.all(
    files.map(async (name) => JSON.parse(await readFile(path.join(dir, name), 'utf8')) as BenchResults),
  )
}

async function writeAtomic(file: string, content: string): Promise<void> {
  const temp = `${file}.${randomBytes(4).toString('hex')}.tmp`
  await writeFile(temp, content)
  await rename(temp, file)
}

/** Writes the charts of `latest` (and the history of `runs`) and embeds them in BENCHMARKS.md; returns the files. */
export async function writeCharts(
  repoRoot: string,
  latest: BenchResults,
  runs: readonly BenchResults[],
  resultsFile: string,
): Promise<string[]> {
  const charts = chartSpecs(latest, runs)
  await mkdir(path.join(repoRoot, CHARTS_DIR), {recursive: true})
  for (const chart of charts) {
    await writeAtomic(path.join(repoRoot, CHARTS_DIR, chart.file), `${await renderSvg(chart.spec)}\n`)
  }
  const benchmarks = path.join(repoRoot, 'BENCHMARKS.md')
  const text = await readFile(benchmarks, 'utf8')
  await writeAtomic(benchmarks, replaceSection(text, 'charts', chartsSection(charts, resultsFile)))
  return charts.map((chart) => path.join(CHARTS_DIR, chart.file))
}
