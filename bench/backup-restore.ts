/**
 * Backup and restore at the scale step's size: `stackctl volume backup` of the grown visits table to a file
 * in the bench's own stack directory, then `stackctl volume restore --force` of that file, both run as a user
 * runs them (wall time from spawn to exit, the CLI's start included). The record's count and the restored
 * count are compared with the table's, so a fast but wrong round trip does not pass as a result.
 */
import {rm} from 'node:fs/promises'
import path from 'node:path'

import type {Psql} from '../src/lib/operations/db/psql.js'
import {runCli} from './proc.js'
import type {BackupRestoreResult} from './results.js'
import type {BenchStack} from './stack.js'
import {round} from './stats.js'

export async function measureBackupRestore(stack: BenchStack, psql: Psql): Promise<BackupRestoreResult> {
  const visits = Number(await psql.query('SELECT count(*) FROM visits'))
  const file = path.join(stack.dir, 'bench-backup.dump')
  try {
    const backup = await runCli(['volume', 'backup', file, '--json', ...stack.cliArgs], stack.env)
    const record = JSON.parse(backup.stdout) as {bytes: number; visits: number | null}
    const restore = await runCli(['volume', 'restore', file, '--force', '--json', ...stack.cliArgs], stack.env)
    const restored = JSON.parse(restore.stdout) as {visits: number}
    return {
      visits,
      dumpBytes: record.bytes,
      backupMs: round(backup.ms, 0),
      restoreMs: round(restore.ms, 0),
      exact: record.visits === visits && restored.visits === visits,
    }
  } finally {
    await rm(file, {force: true})
    await rm(`${file}.json`, {force: true})
  }
}
