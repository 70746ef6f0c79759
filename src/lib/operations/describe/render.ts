/** `describe`'s screen: the report as aligned lines. Pure. */
import {plural} from '../../cli/ui/plural.js'
import type {CommandFor} from '../../model/config/command-line.js'
import {formatBytes} from '../backup-restore/format.js'
import type {BackupFileReport, DescribeReport, DescribedService} from './describe.js'

/** Backup files listed one by one; beyond that, how many more. */
const LISTED_FILES = 5

function row(label: string, value: string): string {
  return `${label.padEnd(10)}${value}`
}

function shortId(imageId: string | null): string {
  return imageId ? imageId.replace(/^sha256:/, '').slice(0, 12) : 'unknown'
}

function serviceLines(s: DescribedService): string[] {
  const health = s.health === 'none' ? '' : `, ${s.health}`
  const lines = [row(`  ${s.name}`, `${s.state}${health}`)]
  if (s.image) lines.push(row('', `image ${s.image} (${shortId(s.imageId)})`))
  if (s.lastHealthCheck) lines.push(row('', `last check: ${s.lastHealthCheck}`))
  return lines
}

function fileLine(f: BackupFileReport): string {
  const name = f.file.split('/').at(-1)!
  if (f.problem) return row('', `${name}  ${formatBytes(f.bytes)}  (${f.problem})`)
  const visits = f.visits === null ? 'visits not counted' : plural(f.visits, 'visit')
  return row('', `${name}  ${formatBytes(f.bytes)}  ${visits}, PostgreSQL ${f.pgMajor}, ${f.createdAt}`)
}

function backupLines(report: DescribeReport): string[] {
  const {files, directory, archive} = report.backups
  const sets = archive?.backups.length ?? 0
  const lines = [row('backups', files.length === 0 ? `none in ${directory}` : `${files.length} in ${directory}`)]
  lines.push(...files.slice(0, LISTED_FILES).map(fileLine))
  if (files.length > LISTED_FILES) lines.push(row('', `… and ${files.length - LISTED_FILES} older`))
  if (!archive) lines.push(row('archive', 'off (WAL archiving is not on for this stack)'))
  else {
    const newest = archive.backups.at(-1)
    const what =
      archive.status === 'ok'
        ? `${plural(sets, 'pgBackRest backup set')} in volume ${archive.volume}` +
          (newest ? `, newest ${newest.label} (${newest.type}, ${formatBytes(newest.bytes)}, ${newest.stoppedAt})` : '')
        : `volume ${archive.volume}: ${archive.status}`
    lines.push(row('archive', what))
    if (archive.wal) lines.push(row('', `WAL archived ${archive.wal.min} … ${archive.wal.max}`))
  }
  return lines
}

export function describeLines(report: DescribeReport, command: CommandFor): string[] {
  const dbUrl = report.dbUrl
    ? `${report.dbUrl} (password: ${command('db url --show-password')})`
    : `not published (${command('up --db-port 5432')} publishes it on 127.0.0.1)`
  const volume = report.volume.exists
    ? `${report.volume.name}, ${report.volume.sizeBytes === null ? 'size unknown' : formatBytes(report.volume.sizeBytes)}`
    : `${report.volume.name} (absent)`
  const postgres = report.postgresVersion ?? `${report.volume.pgMajor} (the db is not running)`
  return [
    row('project', `${report.project} (${report.dir})`),
    row('url', report.url),
    row('db url', dbUrl),
    row('services', report.healthy ? 'all running and healthy' : 'not all running and healthy'),
    ...report.services.flatMap(serviceLines),
    row('postgres', `${postgres}, images from ${report.imageSource === 'registry' ? 'the registry' : 'local builds'}`),
    row('volume', volume),
    ...backupLines(report),
    ...report.warnings.map((w) => row('warning', w)),
    ...(report.problems.length === 0 ? [row('problems', 'none')] : report.problems.map((p) => row('problem', p))),
  ]
}
