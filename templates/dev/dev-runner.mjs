// Runs inside the app container in development mode: bundles /src/api (bind-mounted from the working tree)
// with esbuild, runs it, and on every save rebuilds and restarts it. A build error keeps the last good server
// running; type errors are reported (by tsc, after the restart) without stopping anything.
import {spawn} from 'node:child_process'
import {mkdirSync, readdirSync, statSync, watch, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {setPriority} from 'node:os'
import path from 'node:path'

const toolchain = createRequire('/stackctl/node_modules/')
const esbuild = toolchain('esbuild')
const source = process.env.STACKCTL_DEV_SOURCE || '/src/api'
const outfile = '/tmp/stackctl-dev/server.mjs'
const log = (message) =>
  console.log(JSON.stringify({time: new Date().toISOString(), level: 'info', msg: `dev: ${message}`}))

let server
let stopping = false

async function rebuild() {
  try {
    await esbuild.build({
      entryPoints: [`${source}/main.ts`],
      outfile,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'esm',
      nodePaths: ['/stackctl/node_modules'],
      external: ['pg-native'],
      banner: {js: "import {createRequire} from 'node:module';const require=createRequire(import.meta.url);"},
      logLevel: 'silent',
    })
    return true
  } catch (error) {
    for (const e of error.errors ?? [error]) {
      log(
        `build error (the running server is kept): ${e.location ? `${e.location.file}:${e.location.line}: ` : ''}${e.text ?? e.message}`,
      )
    }
    return false
  }
}

function start() {
  server = spawn(process.execPath, [outfile], {stdio: 'inherit'})
  server.on('exit', (code, signal) => {
    if (!stopping && server?.exitCode !== null) log(`server exited (${signal ?? code})`)
  })
}

function stop(child) {
  return new Promise((resolve) => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return resolve()
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    child.kill('SIGTERM')
  })
}

const tsconfig = '/tmp/stackctl-dev/tsconfig.json'
function writeTsconfig() {
  mkdirSync(path.dirname(tsconfig), {recursive: true})
  writeFileSync(
    tsconfig,
    JSON.stringify({
      compilerOptions: {
        strict: true,
        noEmit: true,
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        skipLibCheck: true,
        types: ['node'],
        typeRoots: ['/stackctl/node_modules/@types'],
        baseUrl: '/',
        paths: {'*': ['stackctl/node_modules/@types/*', 'stackctl/node_modules/*']},
      },
      include: [`${source}/**/*.ts`],
    }),
  )
}

// One tsc at a time; a save during a check queues exactly one more check of the newest files.
let checking = false
let recheck = false
function typecheck() {
  if (checking) {
    recheck = true
    return
  }
  checking = true
  const tsc = spawn(process.execPath, [toolchain.resolve('typescript/lib/tsc.js'), '-p', tsconfig, '--pretty', 'false'])
  // tsc takes seconds of CPU; at the lowest priority it never delays the next reload's server start.
  try {
    setPriority(tsc.pid, 19)
  } catch {
    // not allowed here: it still runs, only at the normal priority
  }
  let output = ''
  tsc.stdout.on('data', (chunk) => (output += chunk))
  tsc.stderr.on('data', (chunk) => (output += chunk))
  tsc.on('exit', (code) => {
    if (code === 0) log('type check passed')
    else for (const line of output.trim().split('\n').filter(Boolean)) log(`type error: ${line}`)
    checking = false
    if (recheck) {
      recheck = false
      typecheck()
    }
  })
}

// Editors write a file in several steps; one rebuild for them all.
const DEBOUNCE_MS = 50
let pending
let busy = Promise.resolve()
function onChange() {
  clearTimeout(pending)
  pending = setTimeout(() => {
    busy = busy.then(async () => {
      if (!(await rebuild())) return
      await stop(server)
      start()
      log('reloaded')
      typecheck()
    })
  }, DEBOUNCE_MS)
}

// Node 20's recursive fs.watch on Linux follows each file by its inode: a file saved by renaming a new one
// over it (what many editors do) is not seen again, and the next save is only noticed by chance. A watch on
// every directory (inotify on the directory itself) sees writes in place and renames alike.
const watched = new Set()
function watchTree(dir) {
  if (watched.has(dir)) return
  let watcher
  try {
    watcher = watch(dir, (event, name) => {
      if (event === 'rename' && name) watchIfDirectory(path.join(dir, String(name)))
      onChange()
    })
  } catch {
    return
  }
  watched.add(dir)
  watcher.on('error', () => {
    watcher.close()
    watched.delete(dir)
  })
  for (const entry of readdirSync(dir, {withFileTypes: true})) {
    if (entry.isDirectory() && entry.name !== 'node_modules') watchTree(path.join(dir, entry.name))
  }
}

function watchIfDirectory(file) {
  try {
    if (statSync(file).isDirectory()) watchTree(file)
  } catch {
    // removed again meanwhile
  }
}

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, async () => {
    stopping = true
    await stop(server)
    process.exit(0)
  })
}

writeTsconfig()
if (!(await rebuild())) {
  log('initial build failed; waiting for a fix')
} else {
  start()
  typecheck()
}
watchTree(source)
log(`watching ${source}`)
