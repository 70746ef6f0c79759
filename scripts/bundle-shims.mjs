// Injected into the CLI bundle (scripts/bundle-cli.mjs) where a bundled CommonJS package names __dirname or
// __filename: the bundle's own folder, so such code loads; nothing stackctl runs reads a file through them.
import {dirname} from 'node:path'
import {fileURLToPath} from 'node:url'

const file = fileURLToPath(import.meta.url)
export {file as __filename}
export const __dirname = dirname(file)
