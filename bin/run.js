#!/usr/bin/env node
import {fileURLToPath} from 'node:url'

import {fastStart} from '../dist/lib/cli/fast-start.js'

// --version and the root help without loading oclif (see src/lib/cli/fast-start.ts); everything else is oclif's.
const root = fileURLToPath(new URL('..', import.meta.url))
if (!fastStart(process.argv.slice(2), {root, env: process.env, stdout: process.stdout})) {
  // oclif from the CLI bundle, the same @oclif/core the commands extend (scripts/bundle-cli.mjs)
  const {execute} = await import('../dist/commands/execute.js')
  await execute({dir: import.meta.url})
}
