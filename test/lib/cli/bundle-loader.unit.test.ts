import {execFileSync} from 'node:child_process'
import {lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'

import {expect} from 'chai'

import {cacheFileOf, readCodeCache, runScript, writeCodeCache} from '../../../src/lib/cli/bundle-loader.js'

const loader = fileURLToPath(new URL('../../../src/lib/cli/bundle-loader.ts', import.meta.url))

/**
 * runScript in a new node: V8 keeps what it compiled in a process, so a second compile of the same source here would
 * not even look at the cache.
 */
function runInFreshNode(file: string): {cache: string; answer: unknown} {
  const code = `import {runScript} from ${JSON.stringify(pathToFileURL(loader).href)}
    const {cache, exports} = runScript(${JSON.stringify(file)})
    console.log(JSON.stringify({cache, answer: exports.answer}))`
  const output = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    encoding: 'utf8',
  })
  return JSON.parse(output) as {cache: string; answer: unknown}
}

describe('the CLI bundle loader and its code cache', function () {
  this.timeout(60_000)
  let dir: string
  let script: string
  let cache: string
  let bytes: Buffer
  let data: Buffer

  /** A script as the build makes one, and its valid cache (made by running it, as the build does). */
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'stackctl-bundle-'))
    script = join(dir, 'part.cjs')
    writeFileSync(
      script,
      'module.exports = {answer: (function compute() { return 6 * 7 })(), url: __stackctlMetaUrl}\n',
    )
    cache = cacheFileOf(script)
    bytes = readFileSync(script)
    data = runScript(script).script.createCachedData()
    writeCodeCache(cache, bytes, data)
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  /** The cache file as header and V8 payload, to forge one. */
  function split(file: string): {header: string; payload: Buffer} {
    const content = readFileSync(file)
    const headerEnd = content.indexOf(0x0a, content.indexOf(0x0a) + 1)
    return {header: content.toString('utf8', 0, headerEnd + 1), payload: content.subarray(headerEnd + 1)}
  }

  it('reads a valid cache, and the script runs with it (V8 took it)', () => {
    expect(readCodeCache(cache, bytes)?.equals(data)).to.equal(true)
    expect(runInFreshNode(script)).to.deep.equal({cache: 'used', answer: 42})
    expect(runScript(script).exports).to.deep.equal({answer: 42, url: pathToFileURL(script).href})
  })

  it('runs without a cache when there is none', () => {
    rmSync(cache)
    expect(readCodeCache(cache, bytes)).to.equal(undefined)
    expect(runScript(script)).to.include({cache: 'none'}).and.to.have.nested.property('exports.answer', 42)
  })

  it('ignores a cache that is a symlink, even to a valid cache', () => {
    const real = join(dir, 'elsewhere.v8cache')
    writeCodeCache(real, bytes, data)
    rmSync(cache)
    symlinkSync(real, cache)
    expect(readCodeCache(real, bytes), 'the target itself is valid (the control)').to.not.equal(undefined)
    expect(readCodeCache(cache, bytes)).to.equal(undefined)
    expect(runScript(script).cache).to.equal('none')
  })

  it('ignores a cache made from other script bytes (a stale one after a rebuild)', () => {
    writeFileSync(
      script,
      'module.exports = {answer: (function compute() { return 6 * 8 })(), url: __stackctlMetaUrl}\n',
    )
    expect(readCodeCache(cache, readFileSync(script))).to.equal(undefined)
    expect(runInFreshNode(script)).to.deep.equal({cache: 'none', answer: 48})
  })

  it('ignores a cache whose payload changed (one byte flipped) or was cut short', () => {
    const {header, payload} = split(cache)
    const flipped = Buffer.from(payload)
    flipped[flipped.length >> 1] ^= 0xff
    writeFileSync(cache, Buffer.concat([Buffer.from(header), flipped]))
    expect(readCodeCache(cache, bytes)).to.equal(undefined)
    writeFileSync(cache, Buffer.concat([Buffer.from(header), payload.subarray(0, payload.length - 1)]))
    expect(readCodeCache(cache, bytes)).to.equal(undefined)
    // The control: the same header and payload, unchanged, are read.
    writeFileSync(cache, Buffer.concat([Buffer.from(header), payload]))
    expect(readCodeCache(cache, bytes)).to.not.equal(undefined)
  })

  it('ignores a cache made by another Node.js, V8 or CPU', () => {
    const {header, payload} = split(cache)
    for (const [key, other] of [
      ['node', 'v0.0.1'],
      ['v8', '0.0.0'],
      ['arch', 'mips'],
    ]) {
      const forged = header.replace(new RegExp(`"${key}":"[^"]*"`), `"${key}":"${other}"`)
      expect(forged, key).to.not.equal(header)
      writeFileSync(cache, Buffer.concat([Buffer.from(forged), payload]))
      expect(readCodeCache(cache, bytes), key).to.equal(undefined)
    }
  })

  it('ignores garbage, an empty file and a folder in the cache’s place', () => {
    writeFileSync(cache, 'not a cache at all')
    expect(readCodeCache(cache, bytes)).to.equal(undefined)
    writeFileSync(cache, '')
    expect(readCodeCache(cache, bytes)).to.equal(undefined)
    writeFileSync(cache, 'stackctl-v8-code-cache 1\n{not json\n')
    expect(readCodeCache(cache, bytes)).to.equal(undefined)
    rmSync(cache)
    mkdirSync(cache)
    expect(readCodeCache(cache, bytes)).to.equal(undefined)
    expect(runScript(script)).to.include({cache: 'none'}).and.to.have.nested.property('exports.answer', 42)
  })

  it('still runs the script when V8 itself rejects the data (a payload our header vouches for)', () => {
    const {payload} = split(cache)
    const broken = Buffer.from(payload)
    // V8's own header (its magic number) at the start of the payload: V8 refuses it and compiles the source.
    for (let index = 0; index < 8; index++) broken[index] ^= 0xff
    writeCodeCache(cache, bytes, broken)
    expect(readCodeCache(cache, bytes)?.equals(broken), 'our checks pass').to.equal(true)
    expect(runInFreshNode(script)).to.deep.equal({cache: 'rejected', answer: 42})
  })

  it('writes a cache over a symlink by replacing the link, never through it', () => {
    const target = join(dir, 'target.txt')
    writeFileSync(target, 'untouched')
    rmSync(cache)
    symlinkSync(target, cache)
    writeCodeCache(cache, bytes, data)
    expect(readFileSync(target, 'utf8')).to.equal('untouched')
    expect(lstatSync(cache).isFile()).to.equal(true)
    expect(readCodeCache(cache, bytes)?.equals(data)).to.equal(true)
  })

  it('routes import() to the loader: a vm script has none of its own', async () => {
    writeFileSync(script, "module.exports = __stackctlImport('node:path').then((path) => path.sep)\n")
    expect(await (runScript(script).exports as Promise<string>)).to.equal('/')
  })
})
