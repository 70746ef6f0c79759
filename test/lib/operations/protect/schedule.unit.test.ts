import {expect} from 'chai'
import {execFileSync} from 'node:child_process'

import {checkSeconds, parseLast, scheduleScript} from '../../../../src/lib/operations/protect/schedule.js'

describe('scheduled backups: the loop and its record', () => {
  it('reads the line the loop writes, and nothing else', () => {
    expect(parseLast('1796619520|1796619521|diff|0|20261207-045828F_20261207-045840D|\n')).to.deep.equal({
      type: 'diff',
      at: '2026-12-07T04:58:40.000Z',
      seconds: 1,
      ok: true,
      label: '20261207-045828F_20261207-045840D',
      message: null,
    })
    expect(
      parseLast('1796619520|1796619530|full|28||ERROR: [047]: unable to create path: No space left on device'),
    ).to.include({
      ok: false,
      label: null,
      message: 'ERROR: [047]: unable to create path: No space left on device',
    })
    for (const junk of ['', 'x|y|full|0||', '1|2|incr|0||', '1|2|full|no||'])
      expect(parseLast(junk), junk).to.equal(undefined)
  })

  it('looks a quarter of the diff cadence apart, between 2 s and a minute', () => {
    expect(checkSeconds({everySeconds: 10, fullEverySeconds: 10})).to.equal(2)
    expect(checkSeconds({everySeconds: 120, fullEverySeconds: 600})).to.equal(30)
    expect(checkSeconds({everySeconds: 86_400, fullEverySeconds: 604_800})).to.equal(60)
  })

  it('is a valid sh script that never lets pgBackRest expire on its own and expires by --set only', () => {
    const script = scheduleScript()
    execFileSync('sh', ['-n', '-c', script])
    const backups = script.split('\n').filter((line) => / backup 2>&1/.test(line))
    expect(backups).to.have.length(1)
    expect(backups[0]).to.include('--no-expire-auto')
    const expires = script.split('\n').filter((line) => / expire\b/.test(line) && line.includes('pgbackrest'))
    expect(expires).to.have.length(1)
    expect(expires[0]).to.match(/--set="\$old" --repo1-retention-full=9999999 --repo1-retention-archive=9999999 expire/)
  })
})
