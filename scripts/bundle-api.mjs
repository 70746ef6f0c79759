// Bundles the visit-tracker API (src/api, TypeScript, with pg) into one ESM file, so the app image is built
// from a ready bundle and needs no network inside the build. Not minified: the file stays small either way,
// and the stack traces the API logs for unexpected errors stay readable.
import {build} from 'esbuild'

await build({
  entryPoints: ['src/api/main.ts'],
  outfile: 'dist/api/server.mjs',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  legalComments: 'none',
  // pg optionally requires pg-native; it is never installed, keep it out of the bundle.
  external: ['pg-native'],
  banner: {js: "import {createRequire} from 'node:module';const require=createRequire(import.meta.url);"},
  logLevel: 'warning',
})
