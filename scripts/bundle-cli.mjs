// Bundles the commands (src/commands/index.ts and everything it imports, npm packages included) into one module
// graph, written over tsc's dist/commands/index.js: a command's start then reads a few files instead of about 700 (oclif loads
// dist/commands/index.js through package.json's explicit command strategy). Measured on this project's machine
// kind: `stackctl status` on a stack that does not exist went from about 1.3 s to 0.7 s of CPU, most of it
// module resolution and loading. Lazy stays lazy: `await import('dockerode')` (the engine client, with its gRPC
// and SSH modules) becomes its own chunk, loaded with the first engine request. Not minified, so stack traces
// (DEBUG=stackctl:*) stay readable. dist/commands/bundle-meta.json says which packages each chunk holds (the
// start-up test reads it to tell what a command loaded).
import {build} from 'esbuild'
import {rmSync, writeFileSync} from 'node:fs'

// @oclif/core is bundled too: bin/run.js takes oclif's execute from this bundle (src/lib/cli/execute.ts), so the
// commands extend the very @oclif/core that runs them, and loading it reads one chunk instead of about 150 files
// (`stackctl status` on a missing stack: about 0.2 s less CPU per start). The plugins (help, autocomplete) stay
// in node_modules with their own @oclif/core, loaded only when one of their commands runs; oclif's Config and
// errors are duck-typed across the two. TypeScript, ts-node and tsx are what oclif loads for a development run
// from sources, never from dist. Native addons stay out (ssh2's optional crypto binding, which it loads in a try
// and does without).
const external = ['@oclif/plugin-*', 'typescript', 'ts-node', 'tsx', 'cpu-features', '*.node']

// dockerode and docker-modem require at load what only rare paths use: gRPC and protobufjs for BuildKit sessions
// stackctl never opens (images are built with the docker CLI), and ssh2 for ssh:// engine hosts. They stay out of
// the bundle and are required from node_modules only if something touches them, as dockerode itself would
// resolve them. Measured: the engine chunk lost about 0.85 MB with gRPC, and loading ssh2 (docker-modem's
// ssh.js) cost about 47 ms of CPU on every command that talks to the engine (a CPU profile of a no-op `up`).
const lazyModules = [
  // The name as required (resolved from dockerode's own location, as its require would, nested or hoisted),
  // optionally the module it names there, and what that module exports.
  {filter: /^@grpc\/(grpc-js|proto-loader)$/, exports: 'object'},
  {filter: /^protobufjs$/, exports: 'object'},
  // docker-modem's `ssh = require('./ssh')`, a factory called only for ssh:// hosts (it requires ssh2 at once)
  {
    filter: /^\.\/ssh$/,
    importer: /docker-modem[\\/]lib[\\/]modem\.js$/,
    as: 'docker-modem/lib/ssh.js',
    exports: 'function',
  },
]
const lazy = {
  name: 'lazy-modules',
  setup(bundle) {
    for (const [index, {filter, importer}] of lazyModules.entries()) {
      bundle.onResolve({filter}, (args) =>
        importer && !importer.test(args.importer) ? undefined : {path: `${index}:${args.path}`, namespace: 'lazy'},
      )
    }
    bundle.onLoad({filter: /.*/, namespace: 'lazy'}, (args) => {
      const separator = args.path.indexOf(':')
      const {as, exports} = lazyModules[Number(args.path.slice(0, separator))]
      const name = JSON.stringify(as ?? args.path.slice(separator + 1))
      // createRequire(...)(name) is not a require esbuild follows: the module stays out of the bundle.
      const load = `(real ??= createRequire(require.resolve('dockerode'))(${name}))`
      const body =
        exports === 'function'
          ? `module.exports = function (...args) { return ${load}.apply(this, args) }`
          : `module.exports = new Proxy({}, {get: (_, key) => ${load}[key]})`
      return {
        contents: `const {createRequire} = require('node:module'); let real; ${body}`,
        loader: 'js',
        resolveDir: process.cwd(),
      }
    })
  },
}

// From the sources, not tsc's output: tsc builds incrementally and would leave the last bundle as its input.
rmSync('dist/commands/chunks', {recursive: true, force: true})
const result = await build({
  // dist/commands/index.js (package.json's explicit command strategy) and dist/commands/execute.js (bin/run.js).
  entryPoints: {index: 'src/commands/index.ts', execute: 'src/lib/cli/execute.ts'},
  tsconfig: 'tsconfig.json',
  outdir: 'dist/commands',
  allowOverwrite: true,
  bundle: true,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  platform: 'node',
  target: 'node20',
  format: 'esm',
  external,
  plugins: [lazy],
  // CommonJS packages inside an ES module: `require` for Node's built-ins, `__dirname` for the few that compute a
  // path at load (ssh2's Windows agent); nothing stackctl runs reads a file through it.
  inject: ['scripts/bundle-shims.mjs'],
  banner: {
    js: "import {createRequire as __stackctlRequire} from 'node:module';const require=__stackctlRequire(import.meta.url);",
  },
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
})

const packagesOf = (inputs) =>
  [
    ...new Set(
      Object.keys(inputs)
        .map((file) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file)?.[1])
        .filter(Boolean),
    ),
  ].sort()
const meta = Object.fromEntries(
  Object.entries(result.metafile.outputs).map(([file, output]) => [
    file.replace(/^dist\/commands\//, ''),
    packagesOf(output.inputs),
  ]),
)
writeFileSync('dist/commands/bundle-meta.json', JSON.stringify(meta, null, 2) + '\n')
