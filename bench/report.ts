/** Writes a run down: bench/results/<date>.json (small, commit-worthy) and the sections of BENCHMARKS.md. */
import {randomBytes} from 'node:crypto'
import {mkdir, readFile, rename, writeFile} from 'node:fs/promises'
import path from 'node:path'

import {enginesSection, updateEnginesText, type EnginesResult} from './engines-report.js'
import {runStamp, updateBenchmarksText} from './markdown.js'
import type {BenchResults, TargetResult} from './results.js'

async function writeAtomic(file: string, content: string): Promise<void> {
  const temp = `${file}.${randomBytes(4).toString('hex')}.tmp`
  await writeFile(temp, content)
  await rename(temp, file)
}

/** Writes a text file atomically (temp file, rename). */
export const writeTextFile = writeAtomic

/** Writes a value as indented JSON, atomically, creating its directory. */
export async function writeJsonFile(file: string, value: unknown): Promise<void> {
  await mkdir(path.dirname(file), {recursive: true})
  await writeAtomic(file, JSON.stringify(value, null, 2) + '\n')
}

/** Writes bench/results/<date>.json; returns its path relative to the repository. */
export async function writeResults(
  repoRoot: string,
  results: BenchResults,
  targets: readonly TargetResult[],
): Promise<string> {
  const relative = path.join('bench', 'results', `${runStamp(results)}.json`)
  await mkdir(path.join(repoRoot, 'bench', 'results'), {recursive: true})
  await writeAtomic(path.join(repoRoot, relative), JSON.stringify({...results, targets}, null, 2) + '\n')
  return relative
}

export async function updateBenchmarksFile(
  repoRoot: string,
  results: BenchResults,
  targets: readonly TargetResult[],
  resultsFile: string,
): Promise<void> {
  const file = path.join(repoRoot, 'BENCHMARKS.md')
  const text = await readFile(file, 'utf8').catch(() => '# Benchmarks\n')
  await writeAtomic(file, updateBenchmarksText(text, results, targets, resultsFile))
}

/** `--only engines --write`: bench/results/engines-<date>.json and BENCHMARKS.md's "## Engines" section. */
export async function writeEnginesRun(repoRoot: string, result: EnginesResult): Promise<string> {
  const stamp = result.startedAt.replace(/\.\d+Z$/, 'Z').replace(/:/g, '-')
  const relative = path.join('bench', 'results', `engines-${stamp}.json`)
  await mkdir(path.join(repoRoot, 'bench', 'results'), {recursive: true})
  await writeAtomic(path.join(repoRoot, relative), JSON.stringify(result, null, 2) + '\n')
  const file = path.join(repoRoot, 'BENCHMARKS.md')
  const text = await readFile(file, 'utf8').catch(() => '# Benchmarks\n')
  await writeAtomic(file, updateEnginesText(text, enginesSection(result, relative)))
  return relative
}
