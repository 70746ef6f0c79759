// Bundles the CLI into three CommonJS scripts in dist/cli: oclif (@oclif/core), the commands
// (src/commands/index.ts and everything it imports, npm packages included, but oclif and dockerode) and dockerode
// (the engine client, loaded with the first engine request); then runs each once and writes its V8 code cache
// beside it. src/lib/cli/bundle-loader.ts runs them with it: a command's start reads a few files instead of about
// 700 and compiles almost nothing. Node 20 has no compile cache for ES modules, and compiling the ES module chunks
// this replaced (1 MB of commands with yaml and execa, 0.7 MB of oclif) was the largest item of `stackctl
// status`'s start. Help (oclif's, from the manifest) loads the oclif part only; oclif loads the commands through
// package.json's explicit strategy from dist/commands/index.js, which this script writes. Not minified, so stack
// traces (DEBUG=stackctl:*) stay readable. dist/cli/bundle-meta.json says which packages each part holds (the
// start-up test reads it to tell what a command loaded).
import {build} from 'esbuild'
import {execFileSync} from 'node:child_process'
import {mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import ts from 'typescript'

// @oclif/core is bundled too: bin/run.js takes oclif's execute from this bundle, so the
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

/**
 * The parts take each other from the loader (`__stackctlPart(name)`, src/lib/cli/bundle-loader.ts), so each is
 * loaded only when used and exists once: the commands' `@oclif/core` is the oclif part (the commands extend the
 * very classes that run them), and `import('dockerode')` (src/lib/engine/dockerode-engine.ts) the docker part.
 */
const fromPart = (filter, part) => ({
  name: `part-${part}`,
  setup(bundle) {
    bundle.onResolve({filter}, () => ({path: part, namespace: 'part'}))
    bundle.onLoad({filter: /.*/, namespace: 'part'}, (args) => ({
      contents: `module.exports = __stackctlPart(${JSON.stringify(args.path)})`,
      loader: 'js',
    }))
  },
})

/**
 * Two rewrites of a part, found with TypeScript's parser (so a string or comment saying "import(" is left alone):
 * - a vm script has no module loader for `import()` (oclif imports plugins and hooks with it): each call becomes
 *   the loader's `__stackctlImport(…)`;
 * - esbuild leaves some non-ASCII characters as they are (in comments and one regular expression): each becomes
 *   its `\uXXXX` escape, which means the same there, so the part is ASCII and the loader decodes it as Latin-1 (a
 *   copy) instead of as UTF-8 (several ms for 2 MB). Not where an escape could mean something else (a template
 *   literal, String.raw; after a backslash): then the part stays as it is, and is decoded as UTF-8.
 */
function prepareForVm(file) {
  const code = readFileSync(file, 'utf8')
  const source = ts.createSourceFile(file, code, ts.ScriptTarget.Latest, false, ts.ScriptKind.JS)
  const imports = []
  const templates = []
  const visit = (node) => {
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      imports.push(node.expression.getStart(source))
    }
    if (ts.isTemplateLiteral(node)) templates.push([node.getStart(source), node.getEnd()])
    ts.forEachChild(node, visit)
  }
  visit(source)
  const edits = imports.map((at) => ({at, length: 'import'.length, text: '__stackctlImport'}))
  const escapes = []
  for (let at = 0; at < code.length; at++) {
    const unit = code.charCodeAt(at)
    if (unit > 0x7f) escapes.push({at, length: 1, text: `\\u${unit.toString(16).padStart(4, '0')}`})
  }
  const escapable = escapes.every(
    ({at}) => code[at - 1] !== '\\' && !templates.some(([start, end]) => at >= start && at < end),
  )
  if (escapable) edits.push(...escapes)
  let prepared = code
  for (const {at, length, text} of edits.sort((a, b) => b.at - a.at)) {
    prepared = `${prepared.slice(0, at)}${text}${prepared.slice(at + length)}`
  }
  writeFileSync(file, prepared)
}

const options = {
  tsconfig: 'tsconfig.json',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external,
  // The loader passes the script's own URL (src/lib/package-root.ts finds the package root from it).
  define: {'import.meta.url': '__stackctlMetaUrl'},
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
  logOverride: {
    // Any other use of import.meta would be empty in a CommonJS script: fail the build rather than ship that.
    'empty-import-meta': 'error',
    // The lazy modules resolve from dockerode's own folder in node_modules on purpose (see lazyModules).
    'require-resolve-not-external': 'silent',
  },
}

// From the sources, not tsc's output: tsc builds incrementally and would leave the last bundle as its input.
// The ES module bundle this replaced (dist/commands/chunks, dist/commands/execute.js) goes too, and tsc's
// output of its entry (src/lib/cli/execute.ts is gone; an incremental tsc leaves its old output).
for (const stale of [
  'dist/cli',
  'dist/commands/chunks',
  'dist/commands/execute.js',
  'dist/lib/cli/execute.js',
  'dist/commands/bundle-meta.json',
]) {
  rmSync(stale, {recursive: true, force: true})
}
mkdirSync('dist/cli', {recursive: true})
// oclif alone (what help needs), the commands with what they import but oclif and dockerode, and dockerode.
const parts = {
  oclif: {contents: "module.exports = require('@oclif/core')\n", plugins: []},
  commands: {
    contents: "export {COMMANDS} from './src/commands/index.ts'\n",
    plugins: [fromPart(/^@oclif\/core$/, 'oclif'), fromPart(/^dockerode$/, 'docker')],
  },
  docker: {contents: "module.exports = require('dockerode')\n", plugins: [lazy]},
}
const results = await Promise.all(
  Object.entries(parts).map(([name, {contents, plugins}]) =>
    build({
      ...options,
      stdin: {contents, resolveDir: process.cwd(), sourcefile: `cli-${name}.ts`, loader: 'ts'},
      outfile: `dist/cli/${name}.cjs`,
      plugins,
    }),
  ),
)
for (const name of Object.keys(parts)) prepareForVm(`dist/cli/${name}.cjs`)

// oclif's command target (package.json `oclif.commands`): the commands of the bundle.
writeFileSync(
  'dist/commands/index.js',
  `// Written by scripts/bundle-cli.mjs: the commands are in the CLI bundle (dist/cli/commands.cjs).
import {loadCommands} from '../lib/cli/bundle-loader.js'

export const COMMANDS = loadCommands().COMMANDS
`,
)

const packagesOf = (inputs) =>
  [
    ...new Set(
      Object.keys(inputs)
        .map((file) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file)?.[1])
        .filter(Boolean),
    ),
  ].sort()
const meta = Object.fromEntries(
  results.flatMap((result) =>
    Object.entries(result.metafile.outputs).map(([file, output]) => [
      file.replace(/^dist\/cli\//, ''),
      packagesOf(output.inputs),
    ]),
  ),
)
writeFileSync('dist/cli/bundle-meta.json', JSON.stringify(meta, null, 2) + '\n')

// The code caches, made by a fresh node as the CLI's own start would run (same flags): each part run once.
execFileSync(
  process.execPath,
  [
    '--input-type=module',
    '-e',
    `import {writeCodeCaches} from './dist/lib/cli/bundle-loader.js'; writeCodeCaches(${JSON.stringify(Object.keys(parts))})`,
  ],
  {stdio: 'inherit'},
)
