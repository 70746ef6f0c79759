/**
 * Continuous protection as data (issue 25): the db archives every WAL segment with pgBackRest into a second
 * volume, `<project>_backups`, so a lost data volume loses at most archive_timeout of acknowledged visits.
 * pgBackRest reads its settings from PGBACKREST_* variables in the db's environment (archive_command runs in
 * the server's environment, `docker exec` in the container's): there is no configuration file to mount, and
 * nothing in it is a secret (pgBackRest reaches the server over its socket, as the postgres OS user). Pure.
 */

/** The key the db mounts the repository volume by. */
export const BACKUPS_KEY = 'backups'
/** Where the repository lives in the db container: the Debian package's default, owned by postgres in the image. */
export const REPO_PATH = '/var/lib/pgbackrest'
/** On a point-in-time restore's recovery server: the new volume it fills. */
export const RECOVERY_LABEL = 'io.stackctl.recovery-of'
/** On the new volume of a point-in-time restore: the run that created it (a volume of the same name is not ours). */
export const RESTORE_RUN_LABEL = 'io.stackctl.restore-run'
/** pgBackRest's name for the one cluster of a stack. */
export const STANZA = 'visits'
/** A segment is switched and archived at least this often while anything is written: the idle recovery point. */
export const ARCHIVE_TIMEOUT_SECONDS = 10
/** Full backups kept; older ones (and the WAL only they need) are expired by the next backup. */
export const FULL_RETENTION = 2

export function backupsVolumeName(project: string): string {
  return `${project}_${BACKUPS_KEY}`
}

export function pgbackrestEnvironment(pgDataPath: string): Record<string, string> {
  return {
    PGBACKREST_STANZA: STANZA,
    PGBACKREST_PG1_PATH: pgDataPath,
    PGBACKREST_REPO1_PATH: REPO_PATH,
    PGBACKREST_REPO1_RETENTION_FULL: String(FULL_RETENTION),
    // Small files bundled into a few repository files: a fresh cluster's first backup went from 12.7 s to
    // about 2.5 s (1,269 files, each synced on its own without it).
    PGBACKREST_REPO1_BUNDLE: 'y',
    // lz4: a fraction of gzip's CPU for most of its ratio on WAL; the machine's cores are shared with the API.
    PGBACKREST_COMPRESS_TYPE: 'lz4',
    // A backup asks for an immediate checkpoint instead of waiting for the next scheduled one (up to 5 min).
    PGBACKREST_START_FAST: 'y',
    // Failures go to stderr, which the server copies into its log; no log files to fill the container.
    PGBACKREST_LOG_LEVEL_FILE: 'off',
    PGBACKREST_LOG_LEVEL_CONSOLE: 'warn',
  }
}

/** The server settings that turn archiving on; `postgres -c` arguments, so the volume's own files stay as they are. */
export function archiveServerArgs(): string[] {
  return [
    '-c',
    'archive_mode=on',
    '-c',
    `archive_command=pgbackrest --stanza=${STANZA} archive-push %p`,
    '-c',
    `archive_timeout=${ARCHIVE_TIMEOUT_SECONDS}s`,
  ]
}
