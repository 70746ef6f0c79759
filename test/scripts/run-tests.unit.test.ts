import {expect} from 'chai'
import {execFile} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const root = fileURLToPath(new URL('../..', import.meta.url))

interface Run {
  code: number | null
  stdout: string
}

/** Runs the test runner on test files written to a temporary folder (no lint, no build). */
function runTests(files: Record<string, string>): Promise<Run> {
  const dir = mkdtempSync(path.join(tmpdir(), 'stackctl-run-tests-'))
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text)
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['scripts/run-tests.mjs', '--no-lint', '--no-build', '--jobs', '2', dir],
      {cwd: root, env: {...process.env, STACKCTL_TEST_MAX_JOBS: '2'}},
      (error, stdout) => {
        rmSync(dir, {recursive: true, force: true})
        resolve({code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout})
      },
    )
  })
}

// A test file that leaves a timer running: mocha (without --exit) would wait for it for ever after its summary.
const LINGERS = `it('passes and leaves a timer running', () => { setInterval(() => {}, 1000) })\n`
const FAILS_AND_LINGERS = `it('fails and leaves a timer running', () => { setInterval(() => {}, 1000); throw new Error('boom') })\n`
const CLEAN = `it('passes and leaves nothing behind', () => {})\n`

/** A test file that appends its start and end (ms) to `log`, taking about 1.5 s in between. */
function timed(log: string, group?: string): string {
  const header = group ? `// @group ${group}\n` : ''
  return `${header}import {appendFileSync} from 'node:fs'
it('takes its time', async () => {
  const start = Date.now()
  await new Promise((resolve) => setTimeout(resolve, 1500))
  appendFileSync(${JSON.stringify(log)}, start + ' ' + Date.now() + '\\n')
})
`
}

/** Whether any two of the [start, end] spans written to `log` overlap. */
function overlapping(log: string): boolean {
  const spans = readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .map((line) => line.split(' ').map(Number))
    .sort((a, b) => a[0] - b[0])
  expect(spans).to.have.length(2)
  return spans[1][0] < spans[0][1]
}

describe('scripts/run-tests.mjs', function () {
  this.timeout(120_000)

  it('stops a file still running after its summary line, counts it as passed and says why', async () => {
    const run = await runTests({'lingers.integration.test.ts': LINGERS, 'clean.integration.test.ts': CLEAN})
    expect(run.code, run.stdout).to.equal(0)
    expect(run.stdout).to.match(/lingers\.integration\.test\.ts \(lingered: stopped\)/)
    expect(run.stdout).to.include('held by an open handle: stopped')
    expect(run.stdout).not.to.match(/clean\.integration\.test\.ts \(lingered/)
    expect(run.stdout).to.match(/^2 passed, 0 failed, 0 skipped$/m)
  })

  it('(control) a file that fails and lingers is still a failure', async () => {
    const run = await runTests({'fails.integration.test.ts': FAILS_AND_LINGERS})
    expect(run.code, run.stdout).to.equal(1)
    expect(run.stdout).to.match(/fails\.integration\.test\.ts \(lingered: stopped\)/)
    expect(run.stdout).to.match(/^0 passed, 1 failed, 0 skipped$/m)
  })

  it('never runs two files of one // @group at the same time', async () => {
    const log = path.join(mkdtempSync(path.join(tmpdir(), 'stackctl-groups-')), 'spans')
    const run = await runTests({
      'a.integration.test.ts': timed(log, 'swarm'),
      'b.integration.test.ts': timed(log, 'swarm'),
    })
    expect(run.code, run.stdout).to.equal(0)
    expect(overlapping(log)).to.equal(false)
    // Control: the same files without a group share the pool's two slots.
    const control = path.join(path.dirname(log), 'control')
    const ungrouped = await runTests({'a.integration.test.ts': timed(control), 'b.integration.test.ts': timed(control)})
    expect(ungrouped.code, ungrouped.stdout).to.equal(0)
    expect(overlapping(control)).to.equal(true)
    rmSync(path.dirname(log), {recursive: true, force: true})
  })

  it("repeats a failed file's failure list after the job times, where a kept tail still shows it", async () => {
    const run = await runTests({'fails.integration.test.ts': FAILS_AND_LINGERS, 'clean.integration.test.ts': CLEAN})
    expect(run.code, run.stdout).to.equal(1)
    const tail = run.stdout.slice(run.stdout.lastIndexOf('job times'))
    expect(tail).to.match(/── why \S*fails\.integration\.test\.ts failed:\n\s+1 failing/)
    expect(tail).to.include('Error: boom')
    expect(tail).not.to.include('why clean')
  })
})
