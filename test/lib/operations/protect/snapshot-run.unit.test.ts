import {expect} from 'chai'

import {backupFailure, lockRefused} from '../../../../src/lib/operations/protect/snapshot-run.js'

describe('snapshot create: a failed backup', () => {
  const command = (verb: string) => `stackctl ${verb} --dir /s`
  const MiB = 1024 * 1024
  // pgBackRest's own last line after its retries on a full tmpfs (seen): the cause is not in it.
  const output =
    "ERROR: [064]: raised from local-1 protocol: unable to write '/var/lib/pgbackrest/backup/visits/20261206-234615F/bundle/1': [2] No such file or directory"

  it('names a full repository, with its free space, and a hint that deletes nothing', () => {
    const failure = backupFailure({
      exitCode: 64,
      output,
      space: {sizeBytes: 40 * MiB, freeBytes: 0, usedBytes: 40 * MiB},
      volume: 'p_backups',
      command,
    })
    expect(failure.message).to.match(
      /^pgbackrest backup failed: the backup repository is full \(volume p_backups: 0 B free of 40\.0 MiB\)/,
    )
    expect(failure.message).to.include('No such file or directory')
    expect(failure.suggestion).to.include('make room on the filesystem that holds volume p_backups')
    expect(failure.suggestion).to.include('stackctl snapshot list --dir /s')
    expect(failure.suggestion).to.not.match(/delete|rm /)
  })

  it("quotes pgBackRest's ERROR line, not the generic HINT lines after it", () => {
    const failure = backupFailure({
      exitCode: 82,
      output: [
        'P00  ERROR: [082]: WAL segment 000000010000000000000011 was not archived before the 60000ms timeout',
        '      HINT: check the archive_command to ensure that all options are correct (especially --stanza).',
        '      HINT: check the PostgreSQL server log for errors.',
      ].join('\n'),
      space: {sizeBytes: 40 * MiB, freeBytes: 0, usedBytes: 40 * MiB},
      volume: 'p_backups',
      command,
    })
    expect(failure.message).to.match(/pgBackRest said \(exit 82\): P00 ERROR: \[082\]: WAL segment .* timeout$/)
  })

  it('pgBackRest saying so is enough when the space cannot be read', () => {
    const failure = backupFailure({
      exitCode: 64,
      output: "ERROR: [047]: unable to write 'x': [28] No space left on device",
      space: undefined,
      volume: 'p_backups',
      command,
    })
    expect(failure.message).to.include('the backup repository is full (volume p_backups: no space left)')
  })

  it("names another backup holding pgBackRest's lock (a scheduled one), and says to run it again", () => {
    const failure = backupFailure({
      exitCode: 50,
      output:
        "2026-12-07 05:29:00.976 P00 ERROR: [050]: unable to acquire lock on file '/tmp/pgbackrest/visits-backup-1.lock': Resource temporarily unavailable",
      space: {sizeBytes: 40 * MiB, freeBytes: 30 * MiB, usedBytes: 10 * MiB},
      volume: 'p_backups',
      command,
    })
    expect(failure.message).to.match(/^pgbackrest backup failed: another pgBackRest backup is running in the db/)
    expect(failure.suggestion).to.equal(
      'no snapshot was taken; run the same snapshot create again once that backup is done (stackctl doctor --dir /s shows the last scheduled one)',
    )
  })

  it('after a wait that ran out, says how long the other backup was waited for', () => {
    const failure = backupFailure({
      exitCode: 50,
      output:
        "2026-12-07 05:29:00.976 P00 ERROR: [050]: unable to acquire lock on file '/tmp/pgbackrest/visits-backup-1.lock': Resource temporarily unavailable",
      space: undefined,
      volume: 'p_backups',
      command,
      waitedSeconds: 1800,
    })
    expect(failure.message).to.match(
      /^pgbackrest backup failed: another pgBackRest backup is running in the db \(a scheduled backup, or another snapshot create\) and was still running after 30 min of waiting; /,
    )
  })

  it("knows pgBackRest's lock refusal (then it waits and asks again) from any other failure", () => {
    const refusal =
      "2026-12-07 05:29:00.976 P00 ERROR: [050]: unable to acquire lock on file '/tmp/pgbackrest/visits-backup-1.lock': Resource temporarily unavailable\n   HINT: is another pgBackRest process running?"
    expect(lockRefused({exitCode: 50, stdout: '', stderr: refusal})).to.equal(true)
    // The controls: another exit, or exit 50 without pgBackRest's lock error, is a failure, not a wait.
    expect(lockRefused({exitCode: 64, stdout: '', stderr: output})).to.equal(false)
    expect(lockRefused({exitCode: 50, stdout: '', stderr: 'something else'})).to.equal(false)
    expect(lockRefused({exitCode: 0, stdout: '', stderr: ''})).to.equal(false)
  })

  it('control: another failure with room left is reported as pgBackRest said it, with the log hint', () => {
    const failure = backupFailure({
      exitCode: 64,
      output,
      space: {sizeBytes: 40 * MiB, freeBytes: 30 * MiB, usedBytes: 10 * MiB},
      volume: 'p_backups',
      command,
    })
    expect(failure.message).to.match(/^pgbackrest backup failed \(exit 64\): ERROR: \[064\]/)
    expect(failure.message).to.not.include('full')
    expect(failure.suggestion).to.equal(
      'no snapshot was taken; the db log has the server side of it: stackctl logs db --dir /s',
    )
  })
})
