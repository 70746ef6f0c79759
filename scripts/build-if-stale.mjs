// `npm pack` and `npm ci` run `prepare`: build only when something the build reads is newer than its last
// output (dist/root-help/index.json, written last), so packing a checkout that was just built takes a second
// instead of a whole build. scripts/run-tests.mjs builds through it too. `--check` only says which.
import {spawnSync} from 'node:child_process'
import {readdirSync, statSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const INPUTS = ['src', 'templates', 'scripts', 'package.json', 'package-lock.json', 'tsconfig.json']

/** The newest modification time under `path` (a file or a folder), 0 when it does not exist. */
function newest(path) {
  const stat = statSync(path, {throwIfNoEntry: false})
  if (!stat) return 0
  if (!stat.isDirectory()) return stat.mtimeMs
  return readdirSync(path).reduce((latest, name) => Math.max(latest, newest(join(path, name))), stat.mtimeMs)
}

/** The first input newer than the last build ('' when not built at all), or undefined when the build is current. */
export function staleInput() {
  const built = newest(join(root, 'dist/root-help/index.json'))
  if (built === 0) return ''
  return INPUTS.find((input) => newest(join(root, input)) > built)
}

/** Builds (npm run build) when stale; returns the build's exit status, 0 when nothing needed building. */
export function buildIfStale({check = false, say = (line) => process.stderr.write(`${line}\n`)} = {}) {
  const changed = staleInput()
  if (changed === undefined) {
    say('build: dist/ is newer than everything it is built from: not rebuilt')
    return 0
  }
  say(`build: ${changed ? `${changed} changed since the last build` : 'not built yet'}: building`)
  if (check) return 0
  return spawnSync('npm', ['run', '--silent', 'build'], {cwd: root, stdio: 'inherit'}).status ?? 1
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exit(buildIfStale({check: process.argv.includes('--check')}))
}
