import {expect} from 'chai'

import {renderLatest} from '../markdown.js'
import {evaluateTargets} from '../targets.js'
import {sampleResults} from './sample-results.js'

describe('bench report: backup and restore', () => {
  it('renders the 1M backup and restore times, the dump size and whether the counts were exact', () => {
    const results = {
      ...sampleResults(),
      backupRestore: {visits: 1_000_000, dumpBytes: 4_335_869, backupMs: 1630, restoreMs: 3420, exact: true},
    }
    const text = renderLatest(results, evaluateTargets(results), 'x.json')
    expect(text).to.include(
      '**Backup / restore** — 1,000,000 visits: `stackctl volume backup` 1.6 s (dump 4.3 MB), ' +
        '`stackctl volume restore --force` 3.4 s; counts exact: yes.',
    )
    const wrong = {...results, backupRestore: {...results.backupRestore, exact: false}}
    expect(renderLatest(wrong, evaluateTargets(wrong), 'x.json')).to.include('counts exact: NO.')
  })

  it('says so for older runs that did not measure it', () => {
    const results = sampleResults()
    expect(renderLatest(results, evaluateTargets(results), 'x.json')).to.include(
      '**Backup / restore** — not measured in this run.',
    )
  })
})
