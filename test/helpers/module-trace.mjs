// Loaded with `node --import` (through NODE_OPTIONS): appends every module the process loads, ES modules and
// CommonJS alike, and every script compiled with `vm.Script` (the parts of the CLI bundle,
// src/lib/cli/bundle-loader.ts), one URL or path a line, to the file MODULE_TRACE_FILE names. Used to prove what a command
// does NOT load at start (test/commands/startup.integration.test.ts).
import {appendFileSync} from 'node:fs'
import Module, {register} from 'node:module'
import vm from 'node:vm'

const file = process.env.MODULE_TRACE_FILE
if (file) {
  // ES modules: a load hook (it runs on the loader thread; the write is synchronous, before the module runs).
  register(
    `data:text/javascript,${encodeURIComponent(`
      import {appendFileSync} from 'node:fs'
      export async function load(url, context, next) {
        appendFileSync(${JSON.stringify(file)}, url + '\\n')
        return next(url, context)
      }`)}`,
  )
  // CommonJS (dockerode, pg and oclif are CommonJS, required from inside other CommonJS): every require.
  const load = Module._load
  Module._load = function (request, parent, isMain) {
    const loaded = load.call(this, request, parent, isMain)
    try {
      appendFileSync(file, `${Module._resolveFilename(request, parent, isMain)}\n`)
    } catch {
      // a built-in or an unresolvable name: nothing on disk to record
    }
    return loaded
  }
  // The CLI bundle's parts: the loader compiles them with vm.Script, named by their file.
  const Script = vm.Script
  vm.Script = class extends Script {
    constructor(code, options) {
      super(code, options)
      if (typeof options?.filename === 'string') appendFileSync(file, `${options.filename}\n`)
    }
  }
}
