/**
 * `stackctl verify-persistence` as a user runs it (bin/run.js over dist/, no terminal): exit codes, the --json
 * document on stdout, the human report, and a failing check that still prints its result and exits 1.
 */
import {expect} from 'chai'
import {appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {freePort, runCli, type CliResult} from '../helpers/cli.js'
import {removeComposeProject, uniqueName} from '../helpers/docker.js'

const RESULT_KEYS = [
  'schemaVersion',
  'passed',
  'mode',
  'project',
  'visitsRequested',
  'concurrency',
  'attempted',
  'acknowledged',
  'baseline',
  'before',
  'after',
  'missing',
  'missingCount',
  'checksumBefore',
  'checksumAfter',
  'durability',
  'kill',
  'volume',
  'phases',
  'reasons',
  'aborted',
  'stack',
  'swarm',
]

describe('stackctl verify-persistence (integration)', function () {
  this.timeout(600_000)
  const project = uniqueName('verify-cli')
  const dir = mkdtempSync(path.join(tmpdir(), 'stackctl-verify-cli-'))
  let port: number

  function cli(...args: string[]): Promise<CliResult> {
    return runCli(['verify-persistence', ...args, '--dir', dir, '--project-name', project, '--port', String(port)], {
      env: {STACKCTL_IMAGE_SOURCE: 'local'},
    })
  }

  before(async () => {
    port = await freePort()
  })

  after(async () => {
    await removeComposeProject(project)
    rmSync(dir, {recursive: true, force: true})
  })

  describe('usage errors (exit 2, nothing started)', () => {
    const cases: Array<[string[], string]> = [
      [['--visits', '0'], "invalid --visits '0': must be an integer from 1 to 1000000"],
      [['--visits', '2.5'], "invalid --visits '2.5'"],
      [['--concurrency', 'many'], "invalid --concurrency 'many'"],
      [['--mode', 'stop'], 'Expected --mode=stop to be one of: down, recreate, kill, drain'],
      [['--mode', 'kill', '--visits', '1'], '--mode kill needs --visits 2 or more'],
    ]
    for (const [args, message] of cases) {
      it(`${args.join(' ')}`, async () => {
        const result = await cli(...args)
        expect(result.exitCode, result.stderr).to.equal(2)
        expect(result.stderr).to.include(message)
        expect(result.stdout).to.equal('')
      })
    }

    it('reports an unreachable engine as an environment error', async () => {
      const result = await runCli(['verify-persistence', '--dir', dir, '--project-name', project], {
        env: {DOCKER_HOST: 'unix:///nonexistent/docker.sock'},
      })
      expect(result.exitCode).to.equal(2)
      expect(result.stderr).to.include('cannot reach the Docker engine')
    })
  })

  describe('against a real stack', () => {
    it('starts the stack it needs, passes with --json and prints exactly the result object', async () => {
      const result = await cli('--json', '--visits', '50', '--keep-running')
      expect(result.exitCode, result.stderr).to.equal(0)
      const output = JSON.parse(result.stdout)
      expect(Object.keys(output)).to.deep.equal(RESULT_KEYS)
      expect(output).to.deep.include({
        passed: true,
        mode: 'down',
        project,
        visitsRequested: 50,
        concurrency: 8,
        attempted: 50,
        acknowledged: 50,
        baseline: 0,
        before: 50,
        after: 50,
        missing: [],
        missingCount: 0,
        kill: null,
        reasons: [],
        aborted: null,
        stack: {foundRunning: false, leftRunning: true},
      })
      expect(output.checksumAfter)
        .to.equal(output.checksumBefore)
        .and.match(/^[0-9a-f]{32}$/)
      expect(output.durability).to.deep.equal({
        fsync: 'on',
        synchronousCommit: 'on',
        fullPageWrites: 'on',
        dataDirectory: '/var/lib/postgresql/data',
        dataOnNamedVolume: true,
        volume: `${project}_postgres_data`,
        storage: `volume ${project}_postgres_data`,
      })
      expect(output.volume.removedDuringCheck).to.equal(false)
      expect(output.volume.systemIdentifierAfter).to.equal(output.volume.systemIdentifierBefore)
      for (const phase of output.phases) {
        expect(phase).to.have.all.keys('name', 'ms', 'ok')
        expect(phase.ok).to.equal(true)
      }
    })

    it('refuses a hand-edited compose file before tearing anything down (exit 2), leaving the stack up', async () => {
      const composeFile = path.join(dir, 'docker-compose.yml')
      const original = readFileSync(composeFile)
      appendFileSync(composeFile, '# edited\n')
      try {
        const result = await cli('--visits', '5')
        expect(result.exitCode).to.equal(2)
        expect(result.stderr).to.include('was edited by hand')
        expect(result.stdout).to.equal('')
      } finally {
        writeFileSync(composeFile, original)
      }
      const status = await runCli(['status', '--json', '--dir', dir, '--project-name', project])
      const services = JSON.parse(status.stdout).services as Array<{state: string; health: string}>
      expect(services.map((s) => `${s.state}/${s.health}`)).to.deep.equal(['running/healthy', 'running/healthy'])
    })

    it('prints the phase table, the numbers and one verdict line in human mode', async () => {
      const result = await cli('--mode', 'recreate', '--visits', '20')
      expect(result.exitCode, result.stderr).to.equal(0)
      const lines = result.stdout.trimEnd().split('\n')
      expect(lines[0]).to.match(/^phase\s+time\s+outcome$/)
      expect(result.stdout).to.match(/^teardown\s+\d.* ok$/m)
      expect(result.stdout).to.include('20 requested, 20 attempted, 20 acknowledged (8 clients)')
      expect(result.stdout).to.include('durability  fsync on, synchronous_commit on, full_page_writes on')
      expect(lines.at(-1)).to.match(/^PASSED: all 20 acknowledged visits survived compose up --force-recreate/)
      expect(result.stdout.match(/^(PASSED|FAILED)/gm)).to.have.length(1)
      expect(result.stderr).to.include('verify-persistence: teardown') // progress stays off stdout
      expect(result.stderr).to.match(/^✔ teardown \([\d.]+ s\)$/m)
      expect(result.stderr).to.not.include('Container') // Compose's own lines only with --verbose
    })

    it('exits 1 with the JSON result on stdout when the server runs with fsync=off (a compose override)', async () => {
      writeFileSync(
        path.join(dir, 'docker-compose.override.yml'),
        'services:\n  db:\n    command: [postgres, -c, fsync=off]\n',
      )
      const result = await cli('--json', '--visits', '20')
      expect(result.exitCode, result.stderr).to.equal(1)
      const output = JSON.parse(result.stdout)
      expect(output.passed).to.equal(false)
      expect(output.missingCount).to.equal(0)
      expect(output.durability.fsync).to.equal('off')
      expect(output.reasons).to.have.length(1)
      expect(output.reasons[0]).to.match(/^fsync is off: /)
      expect(output.aborted).to.equal(null)
      expect(output.stack).to.deep.equal({foundRunning: true, leftRunning: true})
    })

    it('exits 1 in human mode too, naming the problem before the verdict; passes again once the override is gone', async () => {
      const failed = await cli('--visits', '10')
      expect(failed.exitCode, failed.stderr).to.equal(1)
      expect(failed.stdout).to.include('problems:\n  - fsync is off')
      expect(failed.stdout.trimEnd().split('\n').at(-1)).to.match(/^FAILED: 1 problem;/)

      rmSync(path.join(dir, 'docker-compose.override.yml'))
      const passed = await cli('--visits', '10')
      expect(passed.exitCode, passed.stdout + passed.stderr).to.equal(0)
    })
  })
})
