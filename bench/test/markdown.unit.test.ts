import {expect} from 'chai'

import {mergeHistory, replaceSection, sectionBody, updateBenchmarksText} from '../markdown.js'
import {evaluateTargets} from '../targets.js'
import {sampleResults} from './sample-results.js'

describe('bench report', () => {
  it('replaces only the text between a section’s markers', () => {
    const text = 'intro\n<!-- bench:latest:start -->\nold\n<!-- bench:latest:end -->\noutro\n'
    expect(replaceSection(text, 'latest', 'new')).to.equal(
      'intro\n<!-- bench:latest:start -->\nnew\n<!-- bench:latest:end -->\noutro\n',
    )
  })

  it('appends a section whose markers are missing', () => {
    const text = replaceSection('# Benchmarks\n', 'history', 'rows')
    expect(sectionBody(text, 'history')).to.equal('rows')
    expect(text.startsWith('# Benchmarks\n')).to.equal(true)
  })

  it('puts the new history row first and keeps the earlier ones', () => {
    const first = mergeHistory(undefined, '| run 1 |')
    const second = mergeHistory(first, '| run 2 |')
    const rows = second.split('\n')
    expect(rows.slice(2)).to.deep.equal(['| run 2 |', '| run 1 |'])
    expect(rows[1]).to.match(/^\| --- \|/)
  })

  it('renders a run into BENCHMARKS.md and keeps the hand-written text around it', () => {
    const results = sampleResults()
    const targets = evaluateTargets(results)
    const once = updateBenchmarksText('# Benchmarks\n\nprose\n', results, targets, 'bench/results/x.json')
    const twice = updateBenchmarksText(once, results, targets, 'bench/results/x.json')
    expect(twice).to.include('prose')
    expect(sectionBody(twice, 'latest')).to.include('bench/results/x.json')
    expect(sectionBody(twice, 'history')!.split('\n')).to.have.length(4)
  })

  it('says how the published port reached the app, and nothing for runs that did not record it', () => {
    const results = sampleResults()
    const targets = evaluateTargets(results)
    const latest = (r: typeof results) => sectionBody(updateBenchmarksText('', r, targets, 'x.json'), 'latest')!
    expect(latest(results)).to.include('the kernel’s NAT rules (dockerd --userland-proxy=false')
    expect(latest({...results, portPath: 'docker-proxy'})).to.include('Docker’s userland proxy')
    expect(latest({...results, portPath: undefined})).not.to.include('The published port reaches')
  })
})
