#!/usr/bin/env node
import {fileURLToPath} from 'node:url'

import {fastStart} from '../dist/lib/cli/fast-start.js'

// --version and the root help without loading oclif (see src/lib/cli/fast-start.ts); everything else is oclif's.
const root = fileURLToPath(new URL('..', import.meta.url))
if (!fastStart(process.argv.slice(2), {root, env: process.env, stdout: process.stdout})) {
  // oclif and the commands: the CLI bundle, run with the code cache the build made (src/lib/cli/bundle-loader.ts)
  const {loadOclif} = await import('../dist/lib/cli/bundle-loader.js')
  await loadOclif().execute({dir: import.meta.url})
}
