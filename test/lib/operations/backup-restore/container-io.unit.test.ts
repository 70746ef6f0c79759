import {expect} from 'chai'

import type {Engine, ExecResult} from '../../../../src/lib/engine/engine.js'
import {Interrupted, StackctlError} from '../../../../src/lib/errors.js'
import {
  drainingStdin,
  runMarker,
  stopMarked,
  stopMarkedArgs,
  streamFailure,
} from '../../../../src/lib/operations/backup-restore/container-io.js'

const errno = (code: string, message: string) => Object.assign(new Error(message), {code})

describe('volume container I/O', () => {
  describe('streamFailure', () => {
    const map = (error: unknown) => streamFailure(error, 'streaming the dump', 'nothing was written')

    it('turns every raw stream error into one stackctl line with a hint saying what was left unchanged', () => {
      const cases: Array<[unknown, RegExp, RegExp]> = [
        [errno('EPIPE', 'write EPIPE'), /the connection to the db container broke \(write EPIPE\)/, /stackctl status/],
        [errno('ECONNRESET', 'read ECONNRESET'), /connection to the db container broke/, /try again/],
        [errno('ERR_STREAM_PREMATURE_CLOSE', 'Premature close'), /connection to the db container broke/, /status/],
        [new Error('the container output ended mid-frame'), /connection to the db container broke/, /status/],
        [errno('ENOSPC', 'ENOSPC: no space left on device, write'), /no space left on the device/, /free some space/],
        [errno('EACCES', "EACCES: permission denied, open '/x'"), /EACCES: permission denied/, /permissions/],
        [new Error('something odd'), /something odd/, /DEBUG=stackctl/],
        ['a string', /a string/, /try again/],
      ]
      for (const [error, message, hint] of cases) {
        const mapped = map(error)
        expect(mapped, String(error)).to.be.instanceOf(StackctlError)
        expect(mapped.exitCode).to.equal(1)
        expect(mapped.message).to.match(/^streaming the dump failed: /)
        expect(mapped.message).to.match(message)
        expect(mapped.message).not.to.include('\n')
        expect(mapped.suggestion).to.match(hint)
        expect(mapped.suggestion).to.match(/; nothing was written$/)
      }
    })

    it('passes stackctl errors (an interrupt included) through unchanged', () => {
      const own = new StackctlError('pg_dump failed', {suggestion: 'x'})
      const interrupted = new Interrupted('backup stopped')
      expect(map(own)).to.equal(own)
      expect(map(interrupted)).to.equal(interrupted)
      expect(map(interrupted).exitCode).to.equal(130)
    })
  })

  it('drains stdin after the command, keeping its exit status', () => {
    expect(drainingStdin(['pg_restore', '--list'])).to.deep.equal([
      'sh',
      '-c',
      '"$@"; status=$?; cat >/dev/null; exit $status',
      'sh',
      'pg_restore',
      '--list',
    ])
  })

  it('marks each run uniquely', () => {
    const marker = runMarker()
    expect(marker).to.match(/^STACKCTL_RUN=[0-9a-f]{16}$/)
    expect(runMarker()).not.to.equal(marker)
  })

  describe('stopMarked', () => {
    function engineAnswering(result: Partial<ExecResult>, calls: string[][]): Engine {
      return {
        containers: {
          exec: async (_id: string, cmd: string[]) => {
            calls.push(cmd)
            return {exitCode: 0, stdout: '', stderr: '', truncated: false, ...result}
          },
        },
      } as unknown as Engine
    }

    it('reports how many marked processes it stopped, passing the marker as an argument', async () => {
      const calls: string[][] = []
      const engine = engineAnswering({stdout: 'stopped 2\n'}, calls)
      expect(await stopMarked(engine, 'db', 'STACKCTL_RUN=ab', ['pg_dump', 'psql'])).to.equal(2)
      expect(calls).to.deep.equal([stopMarkedArgs('STACKCTL_RUN=ab', ['pg_dump', 'psql'])])
      expect(calls[0].slice(-3)).to.deep.equal(['STACKCTL_RUN=ab', 'pg_dump', 'psql'])
    })

    it('is an error with a hint when processes survive', async () => {
      const error = await stopMarked(engineAnswering({exitCode: 1, stdout: 'left 12 13\n'}, []), 'db', 'm', [
        'x',
      ]).catch((e: unknown) => e)
      expect(error).to.be.instanceOf(StackctlError)
      expect((error as StackctlError).message).to.include('left 12 13')
      expect((error as StackctlError).suggestion).to.include('stackctl down')
    })
  })
})
