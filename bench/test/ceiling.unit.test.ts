import {expect} from 'chai'

import {ceilingRunArgs, CEILING_SERVER} from '../ceiling.js'
import {ceilingSection, ceilingTargets, compareWithCeiling} from '../ceiling-report.js'
import {evaluateTargets} from '../targets.js'
import {renderLatest} from '../markdown.js'
import {parseOptions} from '../options.js'
import type {LoadResult} from '../results.js'
import {sampleResults} from './sample-results.js'

function load(connections: number, rps: number, cpu?: LoadResult['cpu']): LoadResult {
  const base = {connections, seconds: 10, requests: rps * 10, rps, p50: 1, p99: 5, non2xx: 0, errors: 0, timeouts: 0}
  return {...base, loadBefore: 1, cpu}
}

const ceiling = [load(1, 2000), load(32, 10_000, {app: 0.9, loadGenerator: 0.6, other: 0.1}), load(128, 12_000)]

describe('bench ceiling', () => {
  it('gives the API as a fraction of the ceiling at each level both ran', () => {
    const api = [load(1, 500), load(32, 8000), load(64, 9000), load(128, 6000)]
    expect(compareWithCeiling(api, ceiling)).to.deep.equal([
      {connections: 1, apiRps: 500, ceilingRps: 2000, fraction: 0.25},
      {connections: 32, apiRps: 8000, ceilingRps: 10_000, fraction: 0.8},
      {connections: 128, apiRps: 6000, ceilingRps: 12_000, fraction: 0.5},
    ])
    expect(compareWithCeiling([load(32, 8000)], [load(32, 0)]), 'a ceiling that answered nothing').to.deep.equal([])
  })

  it('judges 32 connections against 0.75 x, and only when the ceiling was measured', () => {
    const pass = ceilingTargets({api: [load(32, 7500)], ceiling})
    expect(pass).to.have.length(1)
    expect(pass[0]).to.include({value: '0.75 x (7500 / 10000)', pass: true})
    expect(ceilingTargets({api: [load(32, 7400)], ceiling})[0].pass).to.equal(false)
    expect(ceilingTargets({api: [load(1, 7400)], ceiling})[0]).to.include({value: 'not measured', pass: false})
    expect(ceilingTargets({api: [load(32, 7400)]})).to.deep.equal([])
    const results = {...sampleResults(), ceiling}
    expect(evaluateTargets(results).map((t) => t.name)).to.include(pass[0].name)
    expect(evaluateTargets(sampleResults()).map((t) => t.name)).to.not.include(pass[0].name)
  })

  it('renders the section with both CPU splits, in the latest run', () => {
    const api = [load(1, 500), load(32, 8000, {app: 0.7, db: 0.3, loadGenerator: 0.4, other: 0.2}), load(128, 6000)]
    const section = ceilingSection({api, ceiling})
    expect(section).to.include(
      '| 32 | 10000 | 5 | 0.9 / – / 0.6 / 0.1 | 8000 | 5 | 0.7 / 0.3 / – / 0.4 / 0.2 | 0.8 x |',
    )
    expect(ceilingSection({api})).to.equal('')
    const latest = renderLatest({...sampleResults(), ceiling}, [], 'x.json')
    expect(latest).to.include('**Ceiling**')
    expect(renderLatest(sampleResults(), [], 'x.json')).to.not.include('**Ceiling**')
  })

  it('runs the server in the given image with the app’s limits, published on 127.0.0.1 only', () => {
    const args = ceilingRunArgs('p-ceiling', 'stackctl/node:20', 41_234, 'p')
    expect(args[args.indexOf('--publish') + 1]).to.equal('127.0.0.1:41234:3000')
    expect(args.slice(-4, -1)).to.deep.equal(['stackctl/node:20', 'node', '-e'])
    expect(args).to.include.members(['--read-only', '--user', '1000:1000', '--memory', '256m'])
    expect(args).to.include('io.stackctl.bench.ceiling-of=p')
    expect(args.at(-1)).to.equal(CEILING_SERVER)
    expect(CEILING_SERVER).to.include(`'{"visits":1}'`)
  })

  it('is a step of its own with --only ceiling', () => {
    expect(parseOptions(['--only', 'ceiling'])).to.include({only: 'ceiling', write: false})
    expect(() => parseOptions(['--only', 'ceilings'])).to.throw(/ceiling/)
  })
})
