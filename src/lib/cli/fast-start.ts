/**
 * `stackctl --version` and the root help without loading oclif. @oclif/core alone costs about twice a bare
 * `node -e ''` to load and configure, whatever the command; these two answers need none of it. The version line
 * is oclif's userAgent; the root help is the text oclif itself rendered at build time for each terminal width
 * (scripts/root-help.mjs, dist/root-help/). Anything this cannot answer exactly as oclif would — another
 * argv, a theme, user plugins, WSL or another OS than Linux, a debug run, a missing or stale snapshot —
 * returns false and oclif runs. It imports only node: built-ins: it is loaded on every start.
 */
import {existsSync, readFileSync} from 'node:fs'
import {arch, homedir, platform, release} from 'node:os'
import {createRequire} from 'node:module'
import {join} from 'node:path'

interface PackageJson {
  name: string
  version: string
  oclif: {
    bin?: string
    dirname?: string
    theme?: unknown
    additionalHelpFlags?: string[]
    additionalVersionFlags?: string[]
  }
}

/** dist/root-help/index.json (scripts/root-help.mjs): which widths dist/root-help/<width>.txt holds. */
export interface RootHelpIndex {
  /** The VERSION line it shows: another Node.js, version or platform than the build's goes to oclif. */
  userAgent: string
  minWidth: number
  /** Nothing wraps from this width on: wider terminals get its text. */
  maxWidth: number
  /** The one width of dist/root-help/commands/<id>.txt (`stackctl <words> --help`); others go to oclif. */
  commandWidth?: number
  /** The command ids (aliases included) and topics that have one. */
  commands?: string[]
}

export interface StartContext {
  root: string
  env: NodeJS.ProcessEnv
  stdout: {isTTY?: boolean; getWindowSize?: () => number[]; write: (text: string) => unknown}
}

/** True when it wrote the answer; false when oclif must run. */
export function fastStart(argv: string[], context: StartContext): boolean {
  const pjson = JSON.parse(readFileSync(join(context.root, 'package.json'), 'utf8')) as PackageJson
  if (!plainOclifRun(pjson, context.env)) return false
  const versionFlags = ['--version', ...(pjson.oclif.additionalVersionFlags ?? [])]
  // oclif reads a version flag in the first place only, and a help flag anywhere: anything but these exact
  // argv goes to oclif.
  if (argv.length > 0 && versionFlags.includes(argv[0])) {
    context.stdout.write(`${userAgent(pjson)}\n`)
    return true
  }
  const helpFlags = ['--help', ...(pjson.oclif.additionalHelpFlags ?? [])]
  if (argv.length === 0 || (argv.length === 1 && helpFlags.includes(argv[0]))) {
    const text = rootHelp(pjson, context)
    if (text === undefined) return false
    context.stdout.write(text)
    return true
  }
  // `stackctl db upgrade --help`: words naming a command or topic, then one help flag, nothing else.
  const words = argv.slice(0, -1)
  if (argv.length > 1 && helpFlags.includes(argv[argv.length - 1]) && words.every((w) => COMMAND_WORD.test(w))) {
    const text = commandHelp(words.join(':'), pjson, context)
    if (text === undefined) return false
    context.stdout.write(text)
    return true
  }
  return false
}

const COMMAND_WORD = /^[a-z][a-z0-9-]*$/

/** oclif's Config.userAgent, for a platform that is not WSL (plainOclifRun sends WSL to oclif). */
export function userAgent(pjson: PackageJson): string {
  const cpu = arch() === 'ia32' ? 'x86' : arch()
  return `${pjson.name}/${pjson.version} ${platform()}-${cpu} node-${process.version}`
}

/** What @oclif/core reads as `<BIN>_<NAME>` (Config.scopedEnvVar). */
const OCLIF_SCOPED = ['BINPATH', 'CACHE_DIR', 'CONFIG_DIR', 'DATA_DIR', 'DEBUG', 'DISABLE_THEME', 'NPM_REGISTRY']

/** No setting that changes what oclif prints for these two answers. */
function plainOclifRun(pjson: PackageJson, env: NodeJS.ProcessEnv): boolean {
  if (process.platform !== 'linux' || mayBeWsl()) return false
  if (pjson.oclif.theme !== undefined || env.DEBUG) return false
  // The settings oclif reads (its OCLIF_* and the CLI-scoped ones); only the width is read here. stackctl's own
  // (STACKCTL_PORT, STACKCTL_DIR, …) change neither answer.
  const scope = (pjson.oclif.bin ?? pjson.name).toUpperCase().replaceAll('-', '_')
  if (OCLIF_SCOPED.some((name) => env[`${scope}_${name}`] !== undefined)) return false
  if (Object.keys(env).some((name) => name.startsWith('OCLIF_') && name !== 'OCLIF_COLUMNS')) return false
  const home = env.HOME || homedir()
  const dirname = pjson.oclif.dirname ?? pjson.name
  // A user theme colours the help; user plugins add commands to it.
  if (existsSync(join(env.XDG_CONFIG_HOME || join(home, '.config'), dirname, 'theme.json'))) return false
  if (existsSync(join(env.XDG_DATA_HOME || join(home, '.local', 'share'), dirname, 'package.json'))) return false
  return true
}

/** oclif names the platform 'wsl' there: leave it the whole answer. */
function mayBeWsl(): boolean {
  if (release().toLowerCase().includes('microsoft')) return true
  try {
    return readFileSync('/proc/version', 'utf8').toLowerCase().includes('microsoft')
  } catch {
    return false
  }
}

const HELP_DIR = ['dist', 'root-help']

function helpIndex(pjson: PackageJson, context: StartContext): RootHelpIndex | undefined {
  try {
    const index = JSON.parse(readFileSync(join(context.root, ...HELP_DIR, 'index.json'), 'utf8')) as RootHelpIndex
    return index.userAgent === userAgent(pjson) ? index : undefined
  } catch {
    return undefined
  }
}

function rootHelp(pjson: PackageJson, context: StartContext): string | undefined {
  const index = helpIndex(pjson, context)
  const width = helpWidth(context)
  if (!index || width < index.minWidth) return undefined
  return snapshot(context, `${Math.min(width, index.maxWidth)}.txt`)
}

/** A command's or topic's own help, when the build rendered it at the width oclif would use now. */
function commandHelp(id: string, pjson: PackageJson, context: StartContext): string | undefined {
  const index = helpIndex(pjson, context)
  if (!index?.commands?.includes(id) || helpWidth(context) !== index.commandWidth) return undefined
  return snapshot(context, join('commands', `${id}.txt`))
}

function snapshot(context: StartContext, file: string): string | undefined {
  let text: string
  try {
    text = readFileSync(join(context.root, ...HELP_DIR, file), 'utf8')
  } catch {
    return undefined
  }
  // The colour decision is oclif's own (@oclif/core ux/supports-color): the supports-color it requires, for
  // stdout and stderr both. Not ansis's: ansis colours in CI (CI=true) where oclif, without a terminal, does not.
  const oclif = createRequire(createRequire(import.meta.url).resolve('@oclif/core'))
  const supports = oclif('supports-color') as {stdout: unknown; stderr: unknown}
  const ansis = oclif('ansis') as {strip(text: string): string}
  return supports.stdout && supports.stderr ? text : ansis.strip(text)
}

/** oclif's stdtermwidth (@oclif/core lib/screen.js): OCLIF_COLUMNS, else the terminal's width (at least 40), else 80. */
export function helpWidth(context: StartContext): number {
  const columns = Number.parseInt(context.env.OCLIF_COLUMNS ?? '', 10)
  if (columns) return columns
  if (!context.stdout.isTTY) return 80
  const width = context.stdout.getWindowSize?.()[0] ?? 0
  if (width < 1) return 80
  return Math.max(width, 40)
}
