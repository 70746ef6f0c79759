import {expect} from 'chai'

import {UsageError} from '../../../../src/lib/errors.js'
import {parseCheckSettings} from '../../../../src/lib/operations/verify/options.js'

describe('persistence check settings', () => {
  it('defaults to 100 visits, 8 clients, compose down', () => {
    expect(parseCheckSettings({})).to.deep.equal({visits: 100, concurrency: 8, mode: 'down'})
  })

  it('accepts integers from 1 and every teardown mode', () => {
    expect(parseCheckSettings({visits: '1', concurrency: '1', mode: 'recreate'})).to.deep.equal({
      visits: 1,
      concurrency: 1,
      mode: 'recreate',
    })
    expect(parseCheckSettings({visits: ' 200 ', concurrency: '16', mode: 'kill'})).to.deep.equal({
      visits: 200,
      concurrency: 16,
      mode: 'kill',
    })
  })

  for (const [flag, value] of [
    ['visits', '0'],
    ['visits', '-5'],
    ['visits', '1.5'],
    ['visits', 'ten'],
    ['visits', ''],
    ['visits', '1e3'],
    ['visits', '1000001'],
    ['concurrency', '0'],
    ['concurrency', 'x'],
    ['concurrency', '257'],
  ] as const) {
    it(`rejects --${flag} ${JSON.stringify(value)} as a usage error (exit 2) naming the flag`, () => {
      const parse = () => parseCheckSettings({[flag]: value})
      expect(parse).to.throw(UsageError, `--${flag}`)
      try {
        parse()
      } catch (error) {
        expect((error as UsageError).exitCode).to.equal(2)
        expect((error as UsageError).suggestion).to.match(new RegExp(`^try --${flag} \\d+$`))
      }
    })
  }

  it('rejects an unknown mode and lists the valid ones', () => {
    expect(() => parseCheckSettings({mode: 'stop'})).to.throw(UsageError, "unknown --mode 'stop'")
  })

  it('needs at least 2 visits in kill mode: some acknowledged, some in flight', () => {
    expect(() => parseCheckSettings({mode: 'kill', visits: '1'})).to.throw(UsageError, '--visits 2 or more')
  })
})
