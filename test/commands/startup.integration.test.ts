/**
 * Start-up: `stackctl --version` and the root help answer without loading oclif, and nothing that only shows
 * help or the version loads the engine client (dockerode with its gRPC/BuildKit and ssh2 modules), pg or yaml.
 * What a process loads is recorded by test/helpers/module-trace.mjs, not timed. The fast answers are checked
 * against oclif's own, for every terminal width. Needs the build, not the engine.
 */
import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'

import {Config, Help} from '@oclif/core'
import {expect} from 'chai'

import {fastStart} from '../../src/lib/cli/fast-start.js'
import {repoRoot, runCli, runCliInTerminal} from '../helpers/cli.js'

const tracer = fileURLToPath(new URL('../helpers/module-trace.mjs', import.meta.url))
const HEAVY = ['dockerode', 'docker-modem', 'ssh2', '@grpc/grpc-js', 'protobufjs', 'pg', 'yaml']

/** The packages each part of the CLI bundle holds (scripts/bundle-cli.mjs writes it with the build). */
const bundleMeta = JSON.parse(readFileSync(join(repoRoot, 'dist', 'cli', 'bundle-meta.json'), 'utf8')) as Record<
  string,
  string[]
>

/** Every package a process loaded: from node_modules directly, or inside a part of the CLI bundle. */
function loadedPackages(list: string): Set<string> {
  const names = list.split('\n').flatMap((line) => {
    const direct = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(line)?.[1]
    if (direct) return [direct]
    const part = /dist\/cli\/([^/]+\.cjs)$/.exec(line)?.[1]
    return part ? (bundleMeta[part] ?? []) : []
  })
  return new Set(names)
}

describe('start-up (integration)', function () {
  this.timeout(120_000)
  let dir: string
  // Any STACKCTL_* setting sends a run to oclif: an empty config dir changes nothing else in its answers.
  let throughOclif: Record<string, string>

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'stackctl-startup-'))
    throughOclif = {STACKCTL_CONFIG_DIR: join(dir, 'config')}
  })
  after(() => rmSync(dir, {recursive: true, force: true}))

  let traces = 0
  async function modulesLoadedBy(args: string[], env: Record<string, string> = {}) {
    const file = join(dir, `trace-${traces++}.txt`)
    const result = await runCli(args, {env: {NODE_OPTIONS: `--import=${tracer}`, MODULE_TRACE_FILE: file, ...env}})
    return {result, packages: loadedPackages(readFileSync(file, 'utf8'))}
  }

  for (const args of [['--version'], ['-v'], ['--help'], ['-h'], [], ['up', '--help'], ['db', 'upgrade', '-h']]) {
    it(`\`stackctl ${args.join(' ')}\` loads neither oclif nor the engine client, pg or yaml`, async () => {
      const {result, packages} = await modulesLoadedBy(args)
      expect(result.exitCode, result.stderr).to.equal(0)
      expect([...packages]).to.not.include('@oclif/core')
      for (const name of HEAVY) expect([...packages], name).to.not.include(name)
    })
  }

  // `up --help` at another width than a pipe's is oclif's too (the build rendered width 80 only).
  for (const [args, env] of [
    [['up', '--help'], {OCLIF_COLUMNS: '100'}],
    [['help'], {}],
    [['help', 'up'], {}],
    [['db', '--help'], {OCLIF_COLUMNS: '100'}],
    [['autocomplete'], {}],
  ] as Array<[string[], Record<string, string>]>) {
    it(`\`stackctl ${args.join(' ')}\` does not load the engine client, pg or yaml`, async () => {
      const {result, packages} = await modulesLoadedBy(args, {HOME: dir, ...env})
      expect(result.exitCode, result.stderr).to.equal(0)
      expect([...packages], 'oclif ran').to.include('@oclif/core')
      for (const name of HEAVY) expect([...packages], name).to.not.include(name)
    })
  }

  it('`stackctl version` (a command of the bundle, which holds yaml) does not load the engine client or pg', async () => {
    const {result, packages} = await modulesLoadedBy(['version'], {HOME: dir})
    expect(result.exitCode, result.stderr).to.equal(0)
    expect(result.stdout).to.match(/^stackctl\/\d+\.\d+\.\d+ /)
    expect([...packages], 'the command bundle ran').to.include.members(['@oclif/core', 'yaml'])
    for (const name of HEAVY.filter((heavy) => heavy !== 'yaml')) expect([...packages], name).to.not.include(name)
  })

  it('a command runs on the bundle’s @oclif/core, not on a second one from node_modules', async () => {
    const fromNodeModules = (trace: string) =>
      trace.split('\n').filter((line) => /node_modules\/@oclif\/core\//.test(line))
    const file = join(dir, 'trace-one-oclif.txt')
    const env = {NODE_OPTIONS: `--import=${tracer}`, MODULE_TRACE_FILE: file, HOME: dir}
    const result = await runCli(['up', '--help'], {env: {...env, OCLIF_COLUMNS: '100'}})
    expect(result.exitCode, result.stderr).to.equal(0)
    expect(loadedPackages(readFileSync(file, 'utf8')), 'oclif ran').to.include('@oclif/core')
    expect(fromNodeModules(readFileSync(file, 'utf8'))).to.deep.equal([])
    // The recorder's control: `help` is plugin-help's command, which brings its own @oclif/core from node_modules.
    const control = join(dir, 'trace-one-oclif-control.txt')
    await runCli(['help'], {env: {...env, MODULE_TRACE_FILE: control}})
    expect(fromNodeModules(readFileSync(control, 'utf8'))).to.not.deep.equal([])
  })

  it('importing the commands loads no dockerode (the engine client comes with its first request)', async () => {
    // What oclif imports to run any command (package.json's explicit strategy): the bundle of every command.
    const commands = pathToFileURL(join(repoRoot, 'dist', 'commands', 'index.js')).href
    const file = join(dir, 'trace-commands.txt')
    execFileSync(
      process.execPath,
      [
        `--import=${tracer}`,
        '--input-type=module',
        '-e',
        `const {COMMANDS} = await import(${JSON.stringify(commands)}); if (!COMMANDS.up) process.exit(3)`,
      ],
      {
        env: {...process.env, MODULE_TRACE_FILE: file},
      },
    )
    const packages = loadedPackages(readFileSync(file, 'utf8'))
    expect([...packages], 'the commands were imported').to.include.members(['@oclif/core', 'execa'])
    for (const name of ['dockerode', 'docker-modem', 'ssh2', '@grpc/grpc-js', 'protobufjs']) {
      expect([...packages], name).to.not.include(name)
    }
  })

  it('the bundle’s parts run with the code caches the build made (and without, when V8 refuses them)', () => {
    const loader = pathToFileURL(join(repoRoot, 'dist', 'lib', 'cli', 'bundle-loader.js')).href
    const partsIn = (nodeFlags: string[]) =>
      JSON.parse(
        execFileSync(
          process.execPath,
          [
            ...nodeFlags,
            '--input-type=module',
            '-e',
            `import {runScript} from ${JSON.stringify(loader)}
            const run = (part) => runScript(${JSON.stringify(join(repoRoot, 'dist', 'cli'))} + '/' + part + '.cjs')
            const oclif = run('oclif'), commands = run('commands'), docker = run('docker')
            console.log(JSON.stringify({caches: [oclif.cache, commands.cache, docker.cache],
              loaded: [typeof oclif.exports.execute, typeof commands.exports.COMMANDS.up.run, typeof docker.exports]}))`,
          ],
          {encoding: 'utf8'},
        ),
      ) as {caches: string[]; loaded: string[]}
    const loaded = ['function', 'function', 'function']
    expect(partsIn([])).to.deep.equal({caches: ['used', 'used', 'used'], loaded})
    // The control: another V8 setting (the flags are part of V8's check) makes V8 refuse each; they still run.
    expect(partsIn(['--stack-size=900'])).to.deep.equal({caches: ['rejected', 'rejected', 'rejected'], loaded})
  })

  it('sees dockerode where a command does reach the engine (the recorder’s control)', async () => {
    const {result, packages} = await modulesLoadedBy(['ls'], {DOCKER_HOST: 'tcp://127.0.0.1:1'})
    expect(result.exitCode).to.not.equal(0)
    expect([...packages]).to.include.members(['@oclif/core', 'dockerode', 'docker-modem'])
    // What dockerode and docker-modem require at load only for BuildKit sessions and ssh:// hosts stays unloaded.
    for (const name of ['ssh2', '@grpc/grpc-js', '@grpc/proto-loader', 'protobufjs']) {
      expect([...packages], name).to.not.include(name)
    }
  })

  it('loads ssh2, from node_modules, for an ssh:// engine host (the lazy modules’ control)', async () => {
    const {result, packages} = await modulesLoadedBy(['ls'], {DOCKER_HOST: 'ssh://nobody@127.0.0.1:1'})
    expect(result.stderr).to.include('cannot reach the Docker engine at ssh://nobody@127.0.0.1:1')
    expect([...packages]).to.include.members(['dockerode', 'docker-modem', 'ssh2'])
  })

  for (const args of [['--version'], ['-v'], ['--help'], ['-h'], [], ['up', '--help'], ['snapshot', 'ls', '-h']]) {
    it(`\`stackctl ${args.join(' ')}\` prints what oclif prints`, async () => {
      for (const env of [{}, {OCLIF_COLUMNS: '57'}, {OCLIF_COLUMNS: '200'}] as Array<Record<string, string>>) {
        const fast = await runCli(args, {env})
        const oclif = await runCli(args, {env: {...env, ...throughOclif}})
        expect(fast.exitCode).to.equal(oclif.exitCode)
        expect(fast.stderr).to.equal(oclif.stderr)
        expect(fast.stdout, JSON.stringify(env)).to.equal(oclif.stdout)
      }
    })
  }

  it('every command’s and topic’s own help, piped, is oclif’s (the build rendered each at width 80)', async () => {
    const index = JSON.parse(readFileSync(join(repoRoot, 'dist', 'root-help', 'index.json'), 'utf8')) as {
      commands: string[]
    }
    expect(index.commands).to.include.members(['up', 'db', 'db:upgrade', 'snapshot:ls', 'volume:backup'])
    for (const id of index.commands) {
      const args = [...id.split(':'), '--help']
      const fast = await runCli(args)
      const oclif = await runCli(args, {env: throughOclif})
      expect(fast.exitCode, id).to.equal(oclif.exitCode)
      expect(fast.stdout, id).to.equal(oclif.stdout)
    }
  })

  it('the root help in a terminal (bold headers) is oclif’s', async () => {
    // A terminal as a user has it: with CI set (as CI runs this), oclif's supports-color prints no colour at all.
    const terminal = {CI: undefined}
    const fast = await runCliInTerminal(['--help'], {env: terminal})
    const oclif = await runCliInTerminal(['--help'], {env: {...terminal, ...throughOclif}})
    expect(fast.output).to.include('\u001b[1mCOMMANDS')
    expect(fast).to.deep.equal(oclif)
  })

  it('a command’s own help in a terminal (colours, an 80-column terminal or none said) is oclif’s', async () => {
    const terminal = {CI: undefined}
    for (const args of [
      ['up', '--help'],
      ['db', 'upgrade', '-h'],
    ]) {
      const fast = await runCliInTerminal(args, {env: terminal})
      const oclif = await runCliInTerminal(args, {env: {...terminal, ...throughOclif}})
      expect(fast.output).to.include('\u001b[1mUSAGE')
      expect(fast, args.join(' ')).to.deep.equal(oclif)
    }
  })

  it('the root help is oclif’s at every terminal width', async () => {
    const config = await Config.load(repoRoot)
    for (let width = 40; width <= 220; width++) {
      let fast = ''
      const terminal = {isTTY: true, getWindowSize: () => [width, 24], write: (text: string) => (fast += text)}
      expect(fastStart(['--help'], {root: repoRoot, env: {}, stdout: terminal}), `width ${width}`).to.equal(true)
      const chunks: string[] = []
      const write = process.stdout.write
      process.stdout.write = (chunk: string | Uint8Array) => chunks.push(String(chunk)) > 0
      try {
        await new Help(config, {maxWidth: width}).showHelp([])
      } finally {
        process.stdout.write = write
      }
      expect(fast, `width ${width}`).to.equal(chunks.join(''))
    }
  })

  it('answers with stackctl’s own settings in the environment (they change neither answer)', () => {
    let written = ''
    const stdout = {write: (text: string) => (written += text)}
    const env = {STACKCTL_PORT: '8123', STACKCTL_DIR: dir}
    expect(fastStart(['--version'], {root: repoRoot, env, stdout})).to.equal(true)
    expect(written).to.match(/^stackctl\/\S+ linux-\S+ node-v/)
  })

  it('leaves to oclif what it cannot answer exactly', () => {
    const quiet = {write: () => expect.fail('wrote')}
    for (const [argv, env] of [
      [['--help', 'up'], {}],
      [['up'], {}],
      [['version'], {}],
      [['--help'], {DEBUG: '*'}],
      [['--version'], {STACKCTL_DATA_DIR: dir}],
      [['--help'], {STACKCTL_DISABLE_THEME: '1'}],
      [['--help'], {OCLIF_NEXT_VERSION: '1'}],
      [['--help'], {OCLIF_COLUMNS: '30'}],
      // A command's own help at another width than 80, with something else on the line, or of no command.
      [['up', '--help'], {OCLIF_COLUMNS: '81'}],
      [['up', '--port', '1', '--help'], {}],
      [['up', '--help', 'x'], {}],
      [['nothing', '--help'], {}],
      [['help', '--help'], {}],
    ] as Array<[string[], NodeJS.ProcessEnv]>) {
      expect(fastStart(argv, {root: repoRoot, env, stdout: quiet}), `${argv} ${JSON.stringify(env)}`).to.equal(false)
    }
  })
})
