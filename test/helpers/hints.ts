/**
 * Hints as a user pastes them: the `stackctl …` commands a message names, and a way to run one as printed,
 * through the shell, with `stackctl` being this checkout's CLI.
 */
import {spawn} from 'node:child_process'
import path from 'node:path'

import {repoRoot, type CliResult} from './cli.js'

const VERBS = new Set([
  'up',
  'down',
  'status',
  'logs',
  'db',
  'app',
  'doctor',
  'psql',
  'open',
  'volume',
  'exec',
  'start',
  'stop',
  'url',
])
const TAKES_VALUE = new Set(['--dir', '--project-name', '-p', '--pg-major', '--to', '--port', '-c'])

/**
 * The `stackctl …` commands a text names, as printed: `stackctl`, its verbs, then flags and their values (a
 * value may be quoted for the shell), up to the first word that is none of these or a , ; ) that ends it.
 */
export function printedCommands(text: string): string[] {
  const found: string[] = []
  for (const match of text.matchAll(/stackctl /g)) {
    let i = match.index + 'stackctl '.length
    const words = ['stackctl']
    let expectValue = false
    let verbs = true
    for (;;) {
      while (text[i] === ' ') i++
      if (i >= text.length || text[i] === '\n') break
      let word: string
      let ended = false
      if (text[i] === "'") {
        const close = text.indexOf("'", i + 1)
        word = text.slice(i, close + 1)
        i = close + 1
      } else {
        let j = i
        while (j < text.length && !/[\s,;)`]/.test(text[j])) j++
        word = text.slice(i, j)
        ended = j < text.length && /[,;)`]/.test(text[j])
        i = j
      }
      if (expectValue) {
        words.push(word)
        expectValue = false
      } else if (word.startsWith('-')) {
        verbs = false
        words.push(word)
        expectValue = TAKES_VALUE.has(word)
      } else if (verbs && VERBS.has(word)) words.push(word)
      else break
      if (ended) break
    }
    found.push(words.join(' '))
  }
  return found
}

/** Runs a printed command through the shell, with `stackctl` being this checkout's CLI, from `cwd`. */
export function runPrinted(command: string, cwd: string): Promise<CliResult> {
  const bin = path.join(repoRoot, 'bin', 'run.js')
  const child = spawn('sh', ['-c', `stackctl() { "${process.execPath}" "${bin}" "$@"; }; ${command}`], {
    cwd,
    env: {...process.env, STACKCTL_IMAGE_SOURCE: 'local'},
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const output = {stdout: '', stderr: ''}
  child.stdout.on('data', (chunk) => (output.stdout += chunk))
  child.stderr.on('data', (chunk) => (output.stderr += chunk))
  return new Promise((resolve) => child.on('close', (code) => resolve({exitCode: code ?? 1, ...output})))
}
