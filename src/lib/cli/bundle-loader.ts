/**
 * Runs the CLI bundle (scripts/bundle-cli.mjs) with the V8 code cache the build made for it. Compiling the
 * bundle's JavaScript was the largest item of a command's start, and Node 20 caches no ES module's compilation:
 * the bundle is CommonJS scripts (dist/cli/oclif.cjs, commands.cjs, and docker.cjs for the engine client, each
 * loaded when first used), compiled here with `vm.Script` and the `cachedData` the build wrote beside each
 * (dist/cli/<part>.cjs.v8cache). The cache is only read: a run never writes one. It is used
 * only when it is a regular file (not a symlink), names this Node.js, V8 and CPU, was made from these very bytes of
 * the script, and its payload is the one its header hashed; anything else (missing, corrupt, stale, another
 * Node.js) compiles the script as if there were none, and so does V8 when it rejects the data itself.
 * It imports only node: built-ins: bin/run.js loads it on every start that reaches oclif.
 */
import {isAscii} from 'node:buffer'
import {createHash} from 'node:crypto'
import {
  closeSync,
  constants,
  fstatSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname, join} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'
import vm from 'node:vm'

/** What bin/run.js takes from the oclif part (@oclif/core). */
export interface OclifPart {
  execute(options: {dir: string}): Promise<unknown>
}

/** What oclif takes from the commands part (package.json's explicit strategy): the commands by id. */
export interface CommandsPart {
  COMMANDS: Record<string, unknown>
}

/** How a part's code cache fared on this load. */
export type CacheUse = 'used' | 'none' | 'rejected'

const MAGIC = 'stackctl-v8-code-cache 1\n'
/** A cache is a few MB; anything far larger is not one of ours. */
const MAX_CACHE_BYTES = 256 * 1024 * 1024

/** The bundle's folder: dist/cli of the package this module belongs to (dist/lib/cli/ here, or src/lib/cli/). */
const BUNDLE_DIR = join(fileURLToPath(new URL('../../..', import.meta.url)), 'dist', 'cli')

const loaded = new Map<string, unknown>()

export function loadOclif(): OclifPart {
  return loadPart('oclif') as OclifPart
}

export function loadCommands(): CommandsPart {
  return loadPart('commands') as CommandsPart
}

/**
 * A part of the bundle by name (oclif, commands, docker), run once per process however many ask for it (bin/run.js,
 * dist/commands/index.js, the other parts); its cache, if valid, spares compiling it.
 */
export function loadPart(name: string): unknown {
  if (!loaded.has(name)) loaded.set(name, runScript(join(BUNDLE_DIR, `${name}.cjs`)).exports)
  return loaded.get(name)
}

/**
 * Compiles and runs one CommonJS script of the bundle as Node would require it, with what the build routed to
 * the loader: `import()` (a vm script has no loader of its own for it), `import.meta.url`, and the other parts.
 */
export function runScript(file: string): {exports: unknown; cache: CacheUse; script: vm.Script} {
  const bytes = readFileSync(file)
  const cachedData = readCodeCache(cacheFileOf(file), bytes)
  // The build makes the parts ASCII where it can: Latin-1 is then the same text, and a copy instead of a decode.
  const source = bytes.toString(isAscii(bytes) ? 'latin1' : 'utf8')
  const script = new vm.Script(wrap(source), {filename: file, cachedData})
  const cache: CacheUse = cachedData === undefined ? 'none' : script.cachedDataRejected ? 'rejected' : 'used'
  const module = {exports: {} as unknown}
  const run = script.runInThisContext() as (...args: unknown[]) => void
  run(
    module.exports,
    createRequire(file),
    module,
    file,
    dirname(file),
    (specifier: string) => import(specifier),
    pathToFileURL(file).href,
    loadPart,
  )
  return {exports: module.exports, cache, script}
}

/** The CommonJS wrapper, on the script's first line so its line numbers stay the file's. */
function wrap(source: string): string {
  return `(function (exports, require, module, __filename, __dirname, __stackctlImport, __stackctlMetaUrl, __stackctlPart) {${source}\n})`
}

export function cacheFileOf(file: string): string {
  return `${file}.v8cache`
}

interface CacheHeader {
  node: string
  v8: string
  arch: string
  /** sha256 of the script's bytes the cache was made from */
  script: string
  /** sha256 and length of the V8 payload after the header */
  data: string
  length: number
}

function expectedHeader(script: Buffer, data: Buffer): CacheHeader {
  return {
    node: process.version,
    v8: process.versions.v8,
    arch: process.arch,
    script: sha256(script),
    data: sha256(data),
    length: data.length,
  }
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/**
 * The V8 data of a valid cache for these script bytes, else undefined. Opened without following a symlink, and
 * only a regular file is read; every doubt means no cache (the script is then compiled as usual).
 */
export function readCodeCache(cacheFile: string, script: Buffer): Buffer | undefined {
  let fd: number
  try {
    fd = openSync(cacheFile, constants.O_RDONLY | constants.O_NOFOLLOW)
  } catch {
    return undefined
  }
  try {
    const stat = fstatSync(fd)
    if (!stat.isFile() || stat.size > MAX_CACHE_BYTES) return undefined
    const content = Buffer.allocUnsafe(stat.size)
    let read = 0
    while (read < content.length) {
      const count = readSync(fd, content, read, content.length - read, read)
      if (count === 0) return undefined
      read += count
    }
    return validData(content, script)
  } catch {
    return undefined
  } finally {
    closeSync(fd)
  }
}

function validData(content: Buffer, script: Buffer): Buffer | undefined {
  if (content.toString('latin1', 0, MAGIC.length) !== MAGIC) return undefined
  const headerEnd = content.indexOf(0x0a, MAGIC.length)
  if (headerEnd < 0) return undefined
  let header: Partial<CacheHeader>
  try {
    header = JSON.parse(content.toString('utf8', MAGIC.length, headerEnd)) as Partial<CacheHeader>
  } catch {
    return undefined
  }
  const data = content.subarray(headerEnd + 1)
  // What costs nothing to check first: another Node.js (an upgrade) or a cut payload is told without hashing.
  if (header.length !== data.length) return undefined
  if (header.node !== process.version || header.v8 !== process.versions.v8 || header.arch !== process.arch) {
    return undefined
  }
  const expected = expectedHeader(script, data)
  const keys = Object.keys(expected) as Array<keyof CacheHeader>
  return keys.every((key) => header[key] === expected[key]) ? data : undefined
}

/**
 * Writes a script's cache (the build does, after running it): to a new temporary file in the same folder, then
 * renamed over the old one, so a reader sees a whole cache or none and nothing is written through a symlink.
 */
export function writeCodeCache(cacheFile: string, script: Buffer, data: Buffer): void {
  const temporary = `${cacheFile}.${process.pid}.tmp`
  const header = `${MAGIC}${JSON.stringify(expectedHeader(script, data))}\n`
  try {
    writeFileSync(temporary, Buffer.concat([Buffer.from(header, 'utf8'), data]), {flag: 'wx', mode: 0o644})
    renameSync(temporary, cacheFile)
  } finally {
    rmSync(temporary, {force: true})
  }
}

/** The build's step (scripts/bundle-cli.mjs): run each part once and write its cache. */
export function writeCodeCaches(names: string[]): void {
  for (const name of names) {
    const file = join(BUNDLE_DIR, `${name}.cjs`)
    const {script} = runScript(file)
    writeCodeCache(cacheFileOf(file), readFileSync(file), script.createCachedData())
  }
}
