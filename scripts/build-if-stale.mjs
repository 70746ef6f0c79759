// `npm pack` and `npm ci` run `prepare`: build only when something the build reads is newer than its last
// output (dist/root-help/index.json, written last), so packing a checkout that was just built takes a second
// instead of a whole build. Same rule as scripts/run-tests.mjs's buildIfStale. `--check` only says which.
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

const built = newest(join(root, 'dist/root-help/index.json'))
const changed = INPUTS.find((input) => newest(join(root, input)) > built)
if (changed === undefined) {
  process.stderr.write('build: dist/ is newer than everything it is built from: not rebuilt\n')
} else {
  process.stderr.write(`build: ${built ? `${changed} changed since the last build` : 'not built yet'}: building\n`)
  if (!process.argv.includes('--check')) {
    const build = spawnSync('npm', ['run', '--silent', 'build'], {cwd: root, stdio: 'inherit'})
    process.exit(build.status ?? 1)
  }
}
