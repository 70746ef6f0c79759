import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {swapArgs} from '../../../../src/lib/operations/backup-restore/restore.js'
import {leftoverFindings, parseLeftovers} from '../../../../src/lib/operations/backup-restore/restore-leftovers.js'

const ctx = {paths: {dir: '/home/me/my stack'}, config: {project: 'demo'}} as Parameters<typeof leftoverFindings>[1]

describe('restore leftovers', () => {
  it('finds a closed visits, unfinished copies and replaced data, and nothing in a clean cluster', () => {
    const clean = parseLeftovers(
      'postgres|true\ntemplate0|false\ntemplate1|true\nvisits|true\nvisits_restore_manual|true\n|active|0',
    )
    expect(clean).to.deep.equal({closed: false, copies: [], replaced: [], underWay: false})
    expect(leftoverFindings(clean, ctx)).to.deep.equal([])

    const found = parseLeftovers(
      'postgres|true\nvisits|false\nvisits_restore_20250102t030405z_1a2b|true\nvisits_old_20250102t030405z_1a2b|false\n|active|0',
    )
    expect(found).to.deep.equal({
      closed: true,
      copies: ['visits_restore_20250102t030405z_1a2b'],
      replaced: ['visits_old_20250102t030405z_1a2b'],
      underWay: false,
    })
    const findings = leftoverFindings(found, ctx)
    expect(findings.map((f) => f.severity)).to.deep.equal(['fail', 'fail', 'warn'])
    expect(findings[0].what).to.match(/^database 'visits' refuses new connections/)
    expect(findings[0].fix).to.equal("stackctl up --dir '/home/me/my stack' --project-name demo")
    expect(findings[2].fix).to.equal(
      "stackctl psql --dir '/home/me/my stack' --project-name demo -- -c 'DROP DATABASE visits_old_20250102t030405z_1a2b'",
    )
  })

  it('calls nothing a leftover while a restore is running', () => {
    const running = parseLeftovers('visits|false\nvisits_restore_20250102t030405z_1a2b|true\n|active|1')
    expect(running.underWay).to.equal(true)
    const findings = leftoverFindings(running, ctx)
    expect(findings).to.have.length(1)
    expect(findings[0]).to.include({severity: 'warn'})
    expect(findings[0].what).to.match(/^a volume restore is running/)
  })

  describe('the swap script (with a stand-in psql)', () => {
    let bin: string
    beforeEach(() => {
      bin = mkdtempSync(path.join(tmpdir(), 'stackctl-swap-'))
    })
    afterEach(() => rmSync(bin, {recursive: true, force: true}))

    /** Runs swapArgs with a psql that logs each statement and fails the ones matching `failing`. */
    function runSwap(failing: string) {
      const log = path.join(bin, 'log')
      writeFileSync(
        path.join(bin, 'psql'),
        `#!/bin/sh\nfor a; do last="$a"; done\nprintf '%s\\n---\\n' "$last" >> ${log}\n` +
          `case "$last" in *'${failing}'*) echo "ERROR: $PGAPPNAME failed" >&2; exit 1;; esac\n`,
      )
      chmodSync(path.join(bin, 'psql'), 0o755)
      const [cmd, ...args] = swapArgs('visits_restore_x', 'visits_old_x', ' WITH (FORCE)')
      const run = spawnSync(cmd, args, {env: {...process.env, PATH: `${bin}:${process.env.PATH}`}, encoding: 'utf8'})
      const statements = readFileSync(log, 'utf8').split('\n---\n').filter(Boolean)
      return {status: run.status, stdout: run.stdout, statements}
    }

    it('closes, swaps, opens visits again and drops the replaced database', () => {
      const run = runSwap('NOTHING FAILS')
      expect(run.status).to.equal(0)
      expect(run.stdout).to.equal('swap=0 dropped=yes\n')
      expect(run.statements.map((s) => s.split('\n')[0])).to.deep.equal([
        'ALTER DATABASE visits ALLOW_CONNECTIONS false',
        'DO $swap$',
        'ALTER DATABASE visits ALLOW_CONNECTIONS true',
        'DROP DATABASE IF EXISTS visits_old_x WITH (FORCE)',
      ])
    })

    it('opens visits again when the swap fails, and drops nothing', () => {
      const run = runSwap('DO $swap$')
      expect(run.status).to.equal(1)
      expect(run.stdout).to.equal('swap=1 dropped=no\nERROR: stackctl-restore-swap failed\n')
      expect(run.statements.map((s) => s.split('\n')[0])).to.deep.equal([
        'ALTER DATABASE visits ALLOW_CONNECTIONS false',
        'DO $swap$',
        'ALTER DATABASE visits ALLOW_CONNECTIONS true',
      ])
    })

    it('keeps the replaced database open when it cannot be dropped', () => {
      const run = runSwap('DROP DATABASE')
      expect(run.status).to.equal(0)
      expect(run.stdout).to.match(/^swap=0 dropped=no\n/)
      expect(run.statements.at(-1)).to.equal('ALTER DATABASE visits_old_x ALLOW_CONNECTIONS true')
    })
  })
})
