import {expect} from 'chai'

import {upgradeLine} from '../markdown.js'
import {parseOptions} from '../options.js'

describe('bench: the upgrade step', () => {
  it('reports the wall time, the steps and whether the counts were exact', () => {
    const line = upgradeLine({
      upgrade: {
        visits: 1_000_000,
        from: 15,
        to: 17,
        upgradeMs: 23456,
        steps: {'pre-flight': 0.4, copy: 9.1},
        exact: true,
      },
    })
    expect(line).to.equal(
      '**Upgrade** — 1,000,000 visits: `stackctl db upgrade --to 17` from PostgreSQL 15 23.5 s ' +
        '(s per step: pre-flight 0.4, copy 9.1); counts exact: yes.',
    )
    expect(upgradeLine({})).to.equal('**Upgrade** — not measured in this run.')
  })

  it('runs on its own with --only upgrade, writing nothing', () => {
    expect(parseOptions(['--only', 'upgrade', '--rows', '1000'])).to.include({
      only: 'upgrade',
      write: false,
      rows: 1000,
    })
    expect(parseOptions([])).to.include({only: undefined, write: true})
    expect(() => parseOptions(['--only', 'api'])).to.throw(
      /--only takes one step's name \(upgrade, startup, idle, ceiling, up, engines, protection, ha\), got 'api'/,
    )
  })
})
