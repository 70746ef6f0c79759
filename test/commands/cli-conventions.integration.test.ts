/**
 * The conventions oclif users expect, through the built CLI: help in every form, the version, a typo answered
 * with the way to the command list, completion scripts, and one JSON error shape (parse errors included) for
 * every reporting command. Needs the build, not the engine.
 */
import {expect} from 'chai'

import {REPORTS} from '../../scripts/json-schemas.js'
import {runCli} from '../helpers/cli.js'

/** Every command with --json (the JSON schema test keeps this list complete). */
const REPORTING = Object.keys(REPORTS)

describe('CLI conventions (integration)', function () {
  this.timeout(120_000)

  for (const args of [['help'], ['--help'], ['-h']]) {
    it(`lists the commands for ${args.join(' ')}`, async () => {
      const result = await runCli(args)
      expect(result.exitCode, result.stderr).to.equal(0)
      for (const command of ['up', 'down', 'status', 'verify-persistence', 'doctor'])
        expect(result.stdout).to.include(command)
    })
  }

  it('shows a command’s help with `help up`, `up --help` and `up -h`', async () => {
    for (const args of [
      ['help', 'up'],
      ['up', '--help'],
      ['up', '-h'],
    ]) {
      const result = await runCli(args)
      expect(result.exitCode, args.join(' ')).to.equal(0)
      expect(result.stdout).to.include('$ stackctl up').and.include('--adopt')
    }
  })

  it('prints the version for version, --version and -v', async () => {
    for (const args of [['version'], ['--version'], ['-v']]) {
      const result = await runCli(args)
      expect(result.exitCode, args.join(' ')).to.equal(0)
      expect(result.stdout).to.match(/^stackctl\/\d+\.\d+\.\d+ /)
    }
  })

  it('answers a typo with exit 127, the closest command and the way to the command list, without a terminal', async () => {
    const typo = await runCli(['stauts'])
    expect(typo.exitCode).to.equal(127)
    expect(typo.stderr).to.equal(
      "Error: 'stauts' is not a stackctl command. Did you mean 'stackctl status'?\nHint: run stackctl help for the list of commands\n",
    )
    const inTopic = await runCli(['volume', 'inspcet'])
    expect(inTopic.exitCode).to.equal(127)
    expect(inTopic.stderr).to.include("Did you mean 'stackctl volume inspect'?").and.include('stackctl help volume')
    const nothingClose = await runCli(['deploy'])
    expect(nothingClose.stderr).to.equal(
      "Error: 'deploy' is not a stackctl command\nHint: run stackctl help for the list of commands\n",
    )
    const json = await runCli(['stauts', '--json'])
    expect(json.exitCode).to.equal(127)
    expect(JSON.parse(json.stdout)).to.deep.include({schemaVersion: 1}).and.have.nested.property('error.exitCode', 127)
  })

  it('prints bash and zsh completion set-up', async () => {
    for (const shell of ['bash', 'zsh']) {
      const result = await runCli(['autocomplete', shell])
      expect(result.exitCode, result.stderr).to.equal(0)
      expect(result.stdout).to.include(shell === 'bash' ? '.bashrc' : '.zshrc')
    }
  })

  for (const command of REPORTING) {
    it(`prints one JSON error object for a bad flag: ${command} --json --nope (exit 2)`, async () => {
      const result = await runCli([...command.split(' '), '--json', '--nope'])
      expect(result.exitCode).to.equal(2)
      const output = JSON.parse(result.stdout)
      expect(output).to.deep.equal({
        schemaVersion: 1,
        error: {message: 'Nonexistent flag: --nope', exitCode: 2, suggestion: `see stackctl ${command} --help`},
      })
      expect(result.stdout.length).to.be.lessThan(500) // never oclif's configuration (it held the home directory)
    })
  }

  it('prints a long command’s failure with --json as the JSON error alone: no ✖ step line on stderr', async () => {
    const env = {DOCKER_HOST: 'unix:///nonexistent/stackctl-conventions.sock'}
    const args = ['up', '--project-name', 'st-conventions-never-started', '--dir', '/nonexistent/stackctl-dir']
    const json = await runCli([...args, '--json'], {env})
    expect(json.exitCode).to.equal(2)
    expect(JSON.parse(json.stdout))
      .to.have.nested.property('error.message')
      .that.match(/cannot reach the Docker engine/)
    expect(json.stderr).to.equal('')
    // The control: without --json the same failure shows its failed step.
    const human = await runCli(args, {env})
    expect(human.exitCode).to.equal(2)
    expect(human.stderr).to.match(/✖ .+\nError: cannot reach the Docker engine/)
  })

  it('prints a bad flag without --json as one line and a hint (exit 2)', async () => {
    const result = await runCli(['status', '--nope'])
    expect(result.exitCode).to.equal(2)
    expect(result.stderr).to.equal('Error: Nonexistent flag: --nope\nHint: see stackctl status --help\n')
    const typo = await runCli(['up', '--prot', '5000'])
    expect(typo.exitCode).to.equal(2)
    expect(typo.stderr).to.equal('Error: Nonexistent flag: --prot\nHint: did you mean --port? see stackctl up --help\n')
  })
})
