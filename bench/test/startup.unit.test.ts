import {expect} from 'chai'

import {parseOptions} from '../options.js'
import type {StartupResult, TimingSeries} from '../results.js'
import {startupLine, startupTargets} from '../startup.js'

function series(command: string, runsMs: number[], medianMs: number): TimingSeries {
  return {command, runsMs, medianMs}
}

const startup = (version: number, help: number): StartupResult => ({
  nodeBaseline: series("node -e ''", [38, 40, 45], 40),
  version: series('stackctl --version', [version - 1, version, version + 9], version),
  help: series('stackctl --help', [help - 2, help, help + 3], help),
})

describe('bench CLI start-up', () => {
  it('judges each median against 1.5 x node’s', () => {
    const [version, help] = startupTargets(startup(60, 61))
    expect(version).to.include({limit: '<= 1.5 x', value: '1.5 x (60 / 40 ms)', pass: true})
    expect(help).to.include({value: '1.53 x (61 / 40 ms)', pass: false})
  })

  it('reports medians with their spread and the ratios', () => {
    expect(startupLine({startup: startup(44, 50)})).to.equal(
      "**CLI start-up** — 3 interleaved runs, medians (min–max): node -e '' 40 ms (38–45), " +
        '--version 44 ms (43–53), --help 50 ms (48–53); ratios stackctl --version 1.1 x, ' +
        'stackctl --help 1.25 x (target <= 1.5 x).',
    )
    expect(startupLine({})).to.equal('**CLI start-up** — not measured in this run.')
  })

  it('runs on its own with --only startup, writing nothing', () => {
    expect(parseOptions(['--only', 'startup', '--startup-runs', '7'])).to.include({
      only: 'startup',
      startupRuns: 7,
      write: false,
    })
    expect(parseOptions([])).to.include({startupRuns: 20})
  })
})
