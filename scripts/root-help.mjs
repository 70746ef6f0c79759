// Renders `stackctl --help` with oclif's own Help for every terminal width, colour on, into dist/root-help/ (one file
// per width, so a start reads a few kB):
// bin/run.js prints it without loading oclif (src/lib/cli/fast-start.ts). Run by `npm run build` after the
// manifest, so the snapshot always matches the commands that were built.
import {mkdirSync, rmSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

// ansis (oclif's colours) reads this when loaded: render with colour; fast-start strips it where oclif would.
process.env.FORCE_COLOR = '3'
const {Config, Help} = await import('@oclif/core')

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const MIN_WIDTH = 40 // oclif never renders narrower for a terminal

const config = await Config.load(root)

async function render(width) {
  const chunks = []
  const write = process.stdout.write
  process.stdout.write = (chunk) => chunks.push(String(chunk)) > 0
  try {
    await new Help(config, {maxWidth: width}).showHelp([])
  } finally {
    process.stdout.write = write
  }
  return chunks.join('')
}

const unwrapped = await render(10_000)
const out = join(root, 'dist', 'root-help')
rmSync(out, {recursive: true, force: true})
mkdirSync(out, {recursive: true})
let width = MIN_WIDTH
for (; ; width++) {
  const text = await render(width)
  writeFileSync(join(out, `${width}.txt`), text)
  // Once nothing wraps, every wider terminal gets the same text.
  if (text === unwrapped) break
}
writeFileSync(
  join(out, 'index.json'),
  JSON.stringify({userAgent: config.userAgent, minWidth: MIN_WIDTH, maxWidth: width}),
)
