#!/usr/bin/env node
/**
 * The test command: lint, typecheck and every test file, run as independent jobs on a small pool of processes.
 *
 * Why not one mocha process: the integration files spend most of their time waiting on the engine (health
 * checks, PostgreSQL starting, a swarm converging), and each already uses its own project names, volumes and
 * ports, so several can run at once. Why not `mocha --parallel`: it reports no per-file times and cannot keep
 * a file out of the pool. One mocha process per integration file (all unit files share one) gives each file's
 * time, its output as one block, and a failure that names its file.
 *
 * Order: longest first (times recorded in test/support/test-times.json by `--record`), so the long files do not
 * start last. A file whose header has the line `// @serial` runs alone, after the pool has drained (for tests
 * that measure the machine or must not share it). Files whose headers name the same `// @group NAME` never run
 * at the same time (the two files that each make a 3-node swarm: twice, with both running, one swarm's cross-node connections
 * failed for minutes).
 *
 * Priority: a group's files are the run's critical path (the swarm files, one after the other, take longer than
 * everything else on the other slots), so every other job runs under `nice -n 10`: its test runner and the CLI
 * processes it starts (about half of the run's CPU) yield to the group's when both want a core. Containers
 * are the engine's children and keep their priority.
 *
 * Output: each job's own output as one block when it ends, then a table of job times, then the closing line
 * "N passed, N failed, N skipped" that CI reads. Exit 1 on any failed job (a mocha file that ends without its
 * summary line counts as failed), 130 on Ctrl-C or SIGTERM after stopping every job.
 *
 * Build: the integration files run the built CLI (bin/run.js over dist/). The build runs first when anything it
 * reads is newer than its last output (a fresh `npm ci` has just built: CI does not build twice).
 *
 * Usage: node scripts/run-tests.mjs [--jobs N] [--record] [--no-lint] [--no-build] [files or folders…]
 */
import {Buffer} from 'node:buffer'
import {spawn} from 'node:child_process'
import {readFileSync, readdirSync, statSync, writeFileSync} from 'node:fs'
import {cpus} from 'node:os'
import {clearInterval, setInterval} from 'node:timers'
import {join, relative, resolve} from 'node:path'

import {buildIfStale} from './build-if-stale.mjs'

const root = resolve(import.meta.dirname, '..')
const timesFile = join(root, 'test/support/test-times.json')
const DEFAULT_ROOTS = ['test', 'bench/test']
const SUMMARY = /^(\d+) passed, (\d+) failed, (\d+) skipped$/m

function parseArgs(argv) {
  const options = {
    jobs: Number(process.env.STACKCTL_TEST_JOBS) || 4,
    maxJobs: Number(process.env.STACKCTL_TEST_MAX_JOBS) || undefined,
    record: false,
    lint: true,
    build: true,
    paths: [],
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--jobs') options.jobs = Number(argv[++i])
    else if (arg.startsWith('--jobs=')) options.jobs = Number(arg.slice('--jobs='.length))
    else if (arg === '--record') options.record = true
    else if (arg === '--no-lint') options.lint = false
    else if (arg === '--no-build') options.build = false
    else if (arg.startsWith('-')) fail(`unknown option ${arg} (options: --jobs N, --record, --no-lint, --no-build)`)
    else options.paths.push(arg)
  }
  if (!Number.isInteger(options.jobs) || options.jobs < 1 || options.jobs > 40)
    fail('--jobs needs a whole number from 1 to 40')
  options.maxJobs ??= options.jobs + 2
  if (!Number.isInteger(options.maxJobs) || options.maxJobs < options.jobs || options.maxJobs > 40)
    fail(`STACKCTL_TEST_MAX_JOBS needs a whole number from --jobs (${options.jobs}) to 40`)
  return options
}

/** Builds first when anything the build reads is newer than its last output (scripts/build-if-stale.mjs). */
function buildFirst() {
  const status = buildIfStale({say: (line) => process.stdout.write(`run-tests: ${line}\n`)})
  if (status !== 0) fail(`the build failed (exit ${status}): nothing was tested`)
}

function fail(message) {
  process.stderr.write(`run-tests: ${message}\n`)
  process.exit(2)
}

function testFiles(paths) {
  const found = []
  const walk = (path) => {
    const stat = statSync(path, {throwIfNoEntry: false})
    if (!stat) fail(`no such file or folder: ${relative(root, path) || path}`)
    if (stat.isDirectory()) {
      for (const name of readdirSync(path).sort()) if (name !== 'node_modules') walk(join(path, name))
    } else if (path.endsWith('.test.ts')) found.push(relative(root, path))
  }
  for (const path of paths.length > 0 ? paths : DEFAULT_ROOTS) walk(resolve(root, path))
  return found
}

function isSerial(file) {
  const head = readFileSync(join(root, file), 'utf8').split('\n', 30)
  return head.some((line) => line.trim() === '// @serial')
}

/** `// @group NAME` in a file's header: files of one group never run at the same time (see runPool). */
function groupOf(file) {
  const head = readFileSync(join(root, file), 'utf8').split('\n', 30)
  return head.map((line) => /^\/\/ @group ([\w-]+)$/.exec(line.trim())?.[1]).find(Boolean)
}

function readTimes() {
  try {
    return JSON.parse(readFileSync(timesFile, 'utf8'))
  } catch {
    return {}
  }
}

/** The jobs: lint and typecheck, all unit files in one mocha process, each other test file in its own. */
function planJobs(files, options) {
  const mocha = join(root, 'node_modules/.bin/mocha')
  const jobs = []
  if (options.lint) {
    jobs.push({name: 'lint', command: 'npm', args: ['run', '--silent', 'lint'], mocha: false})
    jobs.push({name: 'typecheck', command: 'npm', args: ['run', '--silent', 'typecheck'], mocha: false})
  }
  const unit = files.filter((file) => file.endsWith('.unit.test.ts'))
  if (unit.length > 0) jobs.push({name: 'unit tests', command: mocha, args: unit, mocha: true, files: unit.length})
  for (const file of files.filter((f) => !f.endsWith('.unit.test.ts'))) {
    jobs.push({
      name: file,
      command: mocha,
      args: [file],
      mocha: true,
      serial: isSerial(file),
      group: groupOf(file),
      files: 1,
    })
  }
  const times = readTimes()
  for (const job of jobs) job.expected = times[job.name] ?? 60
  return jobs.sort((a, b) => b.expected - a.expected)
}

const running = new Map()
/** How long a stopped job has to clean up (its after hooks) before it is killed. */
const STOP_GRACE_MS = 300_000
/** How long a mocha job may stay alive after printing its summary (see runJob). */
const LINGER_MS = 5000
/** How much of a failed job's failure list the end of the run repeats. */
const FAILURE_LINES = 80
let stopping = false

/**
 * Test ports: each job slot owns its own block (test/helpers/cli.ts freePort), so parallel files never share.
 * STACKCTL_TEST_PORT_ROOT moves the whole range, for two invocations side by side (each would start at slot 0).
 */
const PORT_BASE = Number(process.env.STACKCTL_TEST_PORT_ROOT ?? 20_000)
const PORT_BLOCK = 1000

function runJob(job, slot) {
  return new Promise((resolvePromise) => {
    const started = Date.now()
    // Through bash, whose `times` then reports on fd 3 the CPU of everything the job ran and reaped: its test
    // runner, the CLI runs, the docker and Compose clients (not the engine's or the containers' side).
    const command = job.group ? [job.command] : ['nice', '-n', '10', job.command]
    const child = spawn('bash', ['-c', '"$0" "$@"; rc=$?; times >&3; exit $rc', ...command, ...job.args], {
      cwd: root,
      // Each job in its own process group, so a stop reaches the CLI and docker processes it started.
      detached: true,
      env: {...process.env, STACKCTL_TEST_PORT_BASE: String(PORT_BASE + slot * PORT_BLOCK)},
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    })
    const timesOut = []
    child.stdio[3].on('data', (chunk) => timesOut.push(chunk))
    running.set(child.pid, child)
    const chunks = []
    let lingerTimer
    let lingered = false
    const watchSummary = (chunk) => {
      chunks.push(chunk)
      if (!job.mocha || lingerTimer || !SUMMARY.test(Buffer.concat(chunks).toString('utf8'))) return
      // The summary comes after the last `after` hook: nothing of the file is left to run. A process still alive
      // LINGER_MS later is held by an open handle (a socket, a timer, an exec stream), which can keep a job slot
      // idle for minutes: stop it and say so, so the leak is seen and mended rather than waited out.
      lingerTimer = setTimeout(() => {
        lingered = true
        try {
          process.kill(-child.pid, 'SIGKILL')
        } catch {
          // already gone
        }
      }, LINGER_MS)
    }
    child.stdout.on('data', watchSummary)
    child.stderr.on('data', (chunk) => chunks.push(chunk))
    child.on('close', (code, signal) => {
      clearTimeout(lingerTimer)
      running.delete(child.pid)
      const output = Buffer.concat(chunks).toString('utf8')
      const summary = job.mocha ? SUMMARY.exec(output) : null
      const counts = summary ? {passed: +summary[1], failed: +summary[2], skipped: +summary[3]} : undefined
      const exited = code === 0 || (lingered && !stopping)
      const ok = exited && (!job.mocha || (counts !== undefined && counts.failed === 0))
      const cpuMs = childrenCpuMs(Buffer.concat(timesOut).toString('utf8'))
      resolvePromise({...job, ms: Date.now() - started, cpuMs, output, counts, ok, code, signal, lingered})
    })
  })
}

function printResult(result, done, total) {
  const seconds = (result.ms / 1000).toFixed(1)
  const counts = result.counts ? `, ${result.counts.passed} passed, ${result.counts.failed} failed` : ''
  const cpu = result.cpuMs === undefined ? '' : `, cpu ${(result.cpuMs / 1000).toFixed(1)} s`
  const mark = result.ok ? '✔' : '✖'
  process.stdout.write(`\n${'─'.repeat(4)} [${done}/${total}] ${mark} ${result.name} (${seconds} s${cpu}${counts})\n`)
  process.stdout.write(result.output.replace(/\n*$/, '\n'))
  if (result.lingered) {
    process.stdout.write(
      `(still running ${LINGER_MS / 1000} s after its summary line, held by an open handle: stopped; its time counts to then)\n`,
    )
  }
  if (!result.ok && result.mocha && !result.counts) {
    process.stdout.write(`(ended without mocha's summary line: exit ${result.code ?? result.signal})\n`)
  }
}

/**
 * A failed job's own account of why, for the end of the run: mocha's failure list (from "N failing"), else the
 * job's last lines; at most FAILURE_LINES lines.
 */
function failureExcerpt(result) {
  const lines = result.output.replace(/\n*$/, '').split('\n')
  const start = lines.findIndex((line) => /^\s+\d+ failing$/.test(line))
  const excerpt = start >= 0 ? lines.slice(start) : lines.slice(-FAILURE_LINES)
  const shown = excerpt.slice(0, FAILURE_LINES)
  const more =
    excerpt.length > shown.length ? `  … ${excerpt.length - shown.length} more line(s) above in its output\n` : ''
  return `\n── why ${result.name} failed:\n${shown.join('\n')}\n${more}`
}

/** The children's user + system CPU from bash's `times` (its second line: `1m2.500s 0m0.250s`), in ms. */
function childrenCpuMs(text) {
  const line = text.trim().split('\n')[1]
  const parts = line ? [...line.matchAll(/(\d+)m([\d.]+)s/g)] : []
  if (parts.length !== 2) return undefined
  return Math.round(
    parts.reduce((sum, [, minutes, seconds]) => sum + Number(minutes) * 60_000 + Number(seconds) * 1000, 0),
  )
}

/** /proc/stat counts in USER_HZ, 100 on Linux whatever the kernel's own tick. */
const TICKS_PER_SECOND = 100

/** CPU time from /proc/stat: [busy, total] in ticks (undefined where there is no /proc). */
function cpuTicks() {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number)
    const total = fields.reduce((sum, value) => sum + value, 0)
    return [total - fields[3] - (fields[4] ?? 0), total]
  } catch {
    return undefined
  }
}

/** The share of the machine's CPU left idle since the previous call (1 = all idle). */
function idleMeter() {
  let last = cpuTicks()
  return () => {
    const now = cpuTicks()
    if (!now || !last) return 0
    const [busy, total] = [now[0] - last[0], now[1] - last[1]]
    last = now
    return total > 0 ? 1 - busy / total : 0
  }
}

/**
 * `width` slots run jobs until the queue is empty. Up to `maxWidth - width` more open while the CPU idles (over
 * IDLE_TO_GROW for a whole sample): many files spend minutes waiting on PostgreSQL, a swarm or a health check,
 * and a fixed pool leaves the cores idle then. An extra slot closes after its job when the CPU is busy again.
 */
const IDLE_TO_GROW = 0.35
const SAMPLE_MS = 5000

async function runPool(jobs, width, onDone, maxWidth = width) {
  const queue = [...jobs]
  const groupsRunning = new Set()
  const jobEnded = new Set()
  const results = []
  const workers = []
  let active = 0
  let widest = 0
  const idle = idleMeter()
  let lastIdle = 0
  const worker = async (slot, extra) => {
    active++
    widest = Math.max(widest, active)
    try {
      while (queue.length > 0 && !stopping) {
        // The longest job whose group is not running; none free: wait for a job to end and look again.
        const next = queue.findIndex((job) => !job.group || !groupsRunning.has(job.group))
        if (next < 0) {
          await new Promise((resolveWait) => jobEnded.add(resolveWait))
          continue
        }
        const [job] = queue.splice(next, 1)
        if (job.group) groupsRunning.add(job.group)
        const result = await runJob(job, slot).finally(() => {
          if (job.group) groupsRunning.delete(job.group)
          for (const wake of jobEnded) wake()
          jobEnded.clear()
        })
        results.push(result)
        onDone(result)
        if (extra && lastIdle < IDLE_TO_GROW) return
      }
    } finally {
      active--
    }
  }
  const used = new Set()
  const start = (slot, extra) => {
    used.add(slot)
    const done = worker(slot, extra).finally(() => used.delete(slot))
    workers.push(done)
  }
  for (let slot = 0; slot < Math.min(width, jobs.length); slot++) start(slot, false)
  const timer =
    maxWidth > width
      ? setInterval(() => {
          lastIdle = idle()
          if (lastIdle < IDLE_TO_GROW || queue.length === 0 || stopping || active >= maxWidth) return
          let slot = width
          while (used.has(slot)) slot++
          start(slot, true)
        }, SAMPLE_MS)
      : undefined
  while (workers.length > 0) await workers.shift()
  if (timer) clearInterval(timer)
  return {results, widest}
}

function stopAll(signal) {
  if (stopping) return
  stopping = true
  process.stdout.write(`\nrun-tests: ${signal}: stopping ${running.size} running job(s)\n`)
  for (const child of running.values()) {
    try {
      process.kill(-child.pid, 'SIGINT')
    } catch {
      // already gone
    }
  }
  // A job still running STOP_GRACE_MS after the interrupt is killed, so the run always ends. Generous: the swarm
  // file's after hook (three nodes, their volumes) took over a minute on a loaded machine, and a kill then leaves
  // them behind.
  setTimeout(() => {
    for (const child of running.values()) {
      try {
        process.kill(-child.pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
  }, STOP_GRACE_MS).unref()
}

async function main() {
  const options = parseArgs(process.argv.slice(2))
  const files = testFiles(options.paths)
  if (options.build) buildFirst()
  const jobs = planJobs(files, options)
  const pooled = jobs.filter((job) => !job.serial)
  const serial = jobs.filter((job) => job.serial)
  process.on('SIGINT', () => stopAll('SIGINT'))
  process.on('SIGTERM', () => stopAll('SIGTERM'))

  const started = Date.now()
  const cpuAtStart = cpuTicks()
  process.stdout.write(
    `run-tests: ${files.length} test files as ${jobs.length} jobs, ${options.jobs} at a time` +
      ` (${serial.length} alone at the end) on ${cpus().length} CPUs\n`,
  )
  let done = 0
  const onDone = (result) => printResult(result, ++done, jobs.length)
  const pool = await runPool(pooled, options.jobs, onDone, options.maxJobs)
  const results = [...pool.results, ...(await runPool(serial, 1, onDone)).results]
  const wallMs = Date.now() - started
  const cpuAtEnd = cpuTicks()

  const table = [...results].sort((a, b) => b.ms - a.ms)
  const seconds = (ms) => (ms === undefined ? '?' : (ms / 1000).toFixed(1))
  process.stdout.write('\njob times (longest first), with the CPU of what each job ran itself:\n')
  for (const result of table) {
    process.stdout.write(
      `${seconds(result.ms).padStart(8)} s  cpu ${seconds(result.cpuMs).padStart(6)} s  ${result.ok ? '✔' : '✖'} ${result.name}${result.lingered ? ' (lingered: stopped)' : ''}\n`,
    )
  }
  const jobMs = results.reduce((sum, result) => sum + result.ms, 0)
  process.stdout.write(
    `wall ${(wallMs / 1000).toFixed(0)} s for ${(jobMs / 1000).toFixed(0)} s of jobs (${options.jobs} at a time, up to ${pool.widest} while the CPU idled)\n`,
  )
  if (cpuAtStart && cpuAtEnd) {
    // Where the machine's CPU went: the jobs' own processes, and the rest (the engine, the containers, the system).
    const busyMs = ((cpuAtEnd[0] - cpuAtStart[0]) * 1000) / TICKS_PER_SECOND
    const ownMs = results.reduce((sum, result) => sum + (result.cpuMs ?? 0), 0)
    process.stdout.write(
      `cpu ${(busyMs / 1000).toFixed(0)} s busy over ${cpus().length} CPUs (${((busyMs / (wallMs * cpus().length)) * 100).toFixed(0)} %): ` +
        `${(ownMs / 1000).toFixed(0)} s in the jobs' own processes (test runners, CLI, docker and Compose clients), ` +
        `${((busyMs - ownMs) / 1000).toFixed(0)} s elsewhere (engine, containers, system)\n`,
    )
  }
  if (options.record && !stopping) {
    const times = readTimes()
    for (const result of results) times[result.name] = Math.round(result.ms / 100) / 10
    writeFileSync(timesFile, `${JSON.stringify(times, Object.keys(times).sort(), 2)}\n`)
  }

  const failedJobs = results.filter((result) => !result.ok)
  const sum = (key) => results.reduce((total, result) => total + (result.counts?.[key] ?? 0), 0)
  // A failed job without counts (lint, typecheck, a crashed file) counts as one failure, so the line never says 0.
  const failed = sum('failed') + failedJobs.filter((result) => !result.counts || result.counts.failed === 0).length
  if (failedJobs.length > 0) {
    process.stdout.write(`\nfailed: ${failedJobs.map((result) => result.name).join(', ')}\n`)
    // Again at the very end, because what CI keeps of a run may be only its tail.
    for (const result of failedJobs) process.stdout.write(failureExcerpt(result))
  }
  if (stopping) {
    process.stdout.write(`stopped: ${jobs.length - results.length} job(s) never started\n`)
  }
  process.stdout.write(`\n${sum('passed')} passed, ${failed} failed, ${sum('skipped')} skipped\n`)
  process.exit(stopping ? 130 : failedJobs.length > 0 ? 1 : 0)
}

await main()
