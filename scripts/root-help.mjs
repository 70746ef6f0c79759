// Renders `stackctl --help` with oclif's own Help for every terminal width, colour on, into dist/root-help/ (one file
// per width, so a start reads a few kB), and each command's and topic's `stackctl <words> --help` at the width a
// pipe gets (80) into dist/root-help/commands/<id>.txt:
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

async function render(width, argv = []) {
  const chunks = []
  const write = process.stdout.write
  process.stdout.write = (chunk) => chunks.push(String(chunk)) > 0
  try {
    await new Help(config, {maxWidth: width}).showHelp(argv)
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
// What oclif shows for `stackctl <words> --help` (it hands the whole argv to its Help, as here), at width 80 only:
// without a terminal (and in an 80-column one) that is the width oclif uses; any other width goes to oclif.
const COMMAND_WIDTH = 80
// Not `help --help`: oclif answers it otherwise than its Help renders ['help', '--help'].
const subjects = [
  ...new Set([...config.commands.flatMap((c) => [c.id, ...(c.aliases ?? [])]), ...config.topics.map((t) => t.name)]),
]
  .filter((id) => id !== 'help')
  .sort()
mkdirSync(join(out, 'commands'))
for (const id of subjects) {
  writeFileSync(join(out, 'commands', `${id}.txt`), await render(COMMAND_WIDTH, [...id.split(':'), '--help']))
}
writeFileSync(
  join(out, 'index.json'),
  JSON.stringify({
    userAgent: config.userAgent,
    minWidth: MIN_WIDTH,
    maxWidth: width,
    commandWidth: COMMAND_WIDTH,
    commands: subjects,
  }),
)
