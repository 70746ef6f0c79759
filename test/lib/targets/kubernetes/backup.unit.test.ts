/**
 * CloudNativePG's backup section (issue 25): the flags' validation (one line, a hint that works, exit 2) and
 * what the render makes of them — the Barman Cloud plugin as the WAL archiver, an ObjectStore whose keys are
 * only named, a ScheduledBackup — and, without a destination, a Cluster file that says it has no archiving.
 */
import {expect} from 'chai'

import {UsageError} from '../../../../src/lib/errors.js'
import {
  parseBackupOptions,
  validateDestination,
  validateRetention,
  validateSchedule,
  type BackupFlags,
} from '../../../../src/lib/targets/kubernetes/backup-options.js'
import {BACKUP_SECRET_KEYS, NO_ARCHIVING} from '../../../../src/lib/targets/kubernetes/render.js'
import {BACKUP_PROVIDERS, find, render, SCENARIOS} from './scenarios.js'

function refusal(work: () => unknown): UsageError {
  try {
    work()
  } catch (error) {
    if (error instanceof UsageError) return error
    throw error
  }
  throw new Error('accepted')
}

describe('kubernetes backup options', () => {
  it('accepts the three providers, and applies the defaults (30d, daily at 03:00)', () => {
    expect(validateDestination('s3://visits-backups/demo')).to.equal('s3')
    expect(validateDestination('s3://visits-backups')).to.equal('s3')
    expect(validateDestination('gs://visits_backups/demo/')).to.equal('gs')
    expect(validateDestination('https://visitsbackups.blob.core.windows.net/visits/demo')).to.equal('azure')
    expect(parseBackupOptions({'backup-destination': 's3://visits-backups/demo'}, 'cloudnative-pg')).to.deep.equal({
      destination: 's3://visits-backups/demo',
      provider: 's3',
      endpoint: undefined,
      credentialsSecret: undefined,
      retention: '30d',
      schedule: '0 0 3 * * *',
    })
    expect(parseBackupOptions({}, 'cloudnative-pg')).to.equal(undefined)
  })

  it('accepts six-field schedules with ranges, steps, lists and names, and the descriptors', () => {
    for (const schedule of ['0 0 3 * * *', '0 */15 * * * *', '30 0 1-5 * JAN-jun MON,WED', '0 0 0 1 * ?', '@daily']) {
      expect(validateSchedule(schedule), schedule).to.equal(schedule)
    }
    expect(validateRetention('4w')).to.equal('4w')
    expect(validateRetention('6m')).to.equal('6m')
  })

  const cases: [string, BackupFlags, string, string][] = [
    ['ftp destination', {'backup-destination': 'ftp://x/y'}, "invalid backup destination 'ftp://x/y'", ''],
    ['short bucket', {'backup-destination': 's3://b/x'}, "'b' is not a bucket name", ''],
    ['uppercase bucket', {'backup-destination': 's3://Visits/x'}, "'Visits' is not a bucket name", ''],
    ['an http URL not Azure', {'backup-destination': 'https://example.com/c'}, 'must be an Azure blob container', ''],
    ['Azure without container', {'backup-destination': 'https://acct.blob.core.windows.net/'}, 'Azure blob', ''],
    [
      'retention 30x',
      {'backup-destination': 's3://visits-backups/x', 'backup-retention': '30x'},
      "invalid backup retention '30x'",
      'try --backup-retention 30d',
    ],
    [
      'retention 0d',
      {'backup-destination': 's3://visits-backups/x', 'backup-retention': '0d'},
      "invalid backup retention '0d'",
      'try --backup-retention 30d',
    ],
    [
      'five cron fields',
      {'backup-destination': 's3://visits-backups/x', 'backup-schedule': '0 3 * * *'},
      'six fields, seconds first (five would be read as second minute hour day month)',
      "try --backup-schedule '0 0 3 * * *'",
    ],
    [
      'minute 61',
      {'backup-destination': 's3://visits-backups/x', 'backup-schedule': '0 61 3 * * *'},
      "the minute '61' is outside 0-59",
      "try --backup-schedule '0 0 3 * * *' (every day at 03:00: second minute hour day month weekday)",
    ],
    [
      'a word',
      {'backup-destination': 's3://visits-backups/x', 'backup-schedule': 'daily'},
      "invalid backup schedule 'daily': six fields",
      '',
    ],
    [
      'unknown descriptor',
      {'backup-destination': 's3://visits-backups/x', 'backup-schedule': '@nightly'},
      'unknown descriptor',
      '',
    ],
    [
      'endpoint with a gs destination',
      {'backup-destination': 'gs://visits-backups/x', 'backup-endpoint': 'https://gcs.example'},
      '--backup-endpoint applies to an s3:// destination',
      '',
    ],
    [
      'endpoint with credentials',
      {'backup-destination': 's3://visits-backups/x', 'backup-endpoint': 'https://key:secret@minio.example:9000'},
      'must be an http(s) URL without credentials',
      '',
    ],
    [
      'bad secret name',
      {'backup-destination': 's3://visits-backups/x', 'backup-credentials-secret': 'Keys_1'},
      "invalid backup credentials secret 'Keys_1'",
      'try --backup-credentials-secret visits-backup-credentials',
    ],
    [
      'retention without destination',
      {'backup-retention': '7d'},
      '--backup-retention needs --backup-destination',
      'try --backup-destination s3://visits-backups/demo',
    ],
  ]
  for (const [name, flags, message, hint] of cases) {
    it(`refuses ${name} in one line with a hint (exit 2)`, () => {
      const error = refusal(() => parseBackupOptions(flags, 'cloudnative-pg'))
      expect(error.exitCode).to.equal(2)
      expect(error.message).to.include(message).and.not.include('\n')
      expect(error.suggestion).to.include(hint)
    })
  }

  it('the hints’ values are accepted as printed (a hint that itself failed would be no help)', () => {
    const fiveFields = refusal(() => validateSchedule('0 3 * * 1-5'))
    const suggested = /--backup-schedule '([^']+)'/.exec(fiveFields.suggestion ?? '')![1]
    expect(suggested).to.equal('0 0 3 * * 1-5')
    expect(validateSchedule(suggested)).to.equal(suggested)
    const destination = refusal(() => validateDestination('ftp://x'))
    for (const example of (destination.suggestion ?? '').match(/(s3|gs):\/\/\S+/g) ?? []) {
      expect(validateDestination(example.replace(/,$/, ''))).to.be.oneOf(['s3', 'gs'])
    }
    const retention = /--backup-retention (\S+)/.exec(refusal(() => validateRetention('1y')).suggestion!)![1]
    expect(validateRetention(retention)).to.equal('30d')
  })

  it('refuses the backup flags with the StatefulSet, naming --postgres cloudnative-pg', () => {
    const error = refusal(() => parseBackupOptions({'backup-destination': 's3://visits-backups/x'}, 'statefulset'))
    expect(error.message).to.equal(
      '--backup-destination applies to --postgres cloudnative-pg: the StatefulSet has no backup section',
    )
  })
})

describe('kubernetes backup rendering (CloudNativePG + Barman Cloud plugin)', () => {
  const files = render(SCENARIOS['cloudnative-pg-backup-s3'])

  it('makes the plugin the Cluster’s WAL archiver, pointing at the ObjectStore it renders', () => {
    const cluster = find(files, 'Cluster')
    const store = find(files, 'ObjectStore')
    expect(cluster.spec.plugins).to.deep.equal([
      {name: 'barman-cloud.cloudnative-pg.io', isWALArchiver: true, parameters: {barmanObjectName: 'demo-db-backups'}},
    ])
    expect(store.metadata.name).to.equal('demo-db-backups')
    // The in-tree section (deprecated since CloudNativePG 1.26) is not used: both would archive.
    expect(cluster.spec.backup).to.equal(undefined)
    expect(store.spec).to.deep.include({retentionPolicy: '14d'})
    expect(store.spec.configuration).to.deep.include({
      destinationPath: 's3://visits-backups/demo',
      endpointURL: 'https://minio.example:9000',
    })
  })

  it('schedules base backups of that Cluster through the plugin, the first one at once', () => {
    const scheduled = find(files, 'ScheduledBackup')
    expect(scheduled.metadata.name).to.equal('demo-db-backup')
    expect(scheduled.spec).to.deep.equal({
      schedule: '0 30 2 * * *',
      immediate: true,
      backupOwnerReference: 'self',
      cluster: {name: find(files, 'Cluster').metadata.name},
      method: 'plugin',
      pluginConfiguration: {name: 'barman-cloud.cloudnative-pg.io'},
    })
  })

  it('names the credentials Secret and its keys, and holds no key value, for each provider', () => {
    const expected = {
      'cloudnative-pg-backup-s3': ['s3Credentials', 'demo-db-backup-credentials', BACKUP_SECRET_KEYS.s3],
      gs: ['googleCredentials', 'demo-db-backup-credentials', BACKUP_SECRET_KEYS.gs],
      azure: ['azureCredentials', 'azure-keys', BACKUP_SECRET_KEYS.azure],
    } as const
    const all = {...SCENARIOS, ...BACKUP_PROVIDERS}
    for (const [scenario, [block, secret, provider]] of Object.entries(expected)) {
      const configuration = find(render(all[scenario]), 'ObjectStore').spec.configuration
      const credentials = Object.keys(configuration).filter((key) => key.endsWith('Credentials'))
      expect(credentials, scenario).to.deep.equal([block])
      expect(configuration[block], scenario).to.deep.equal(
        Object.fromEntries(provider.keys.map(({field, key}) => [field, {name: secret, key}])),
      )
    }
  })

  it('without a destination: no plugin, no ObjectStore or ScheduledBackup, and the Cluster’s file says so', () => {
    const plain = render(SCENARIOS['cloudnative-pg'])
    expect(plain.map((file) => file.name)).to.not.include('cnpg-objectstore.yaml')
    expect(plain.map((file) => file.name)).to.not.include('cnpg-scheduledbackup.yaml')
    expect(find(plain, 'Cluster').spec.plugins).to.equal(undefined)
    const text = plain.find((file) => file.name === 'cnpg-cluster.yaml')!.text
    for (const line of NO_ARCHIVING) expect(text).to.include(`# ${line}`)
    // Control: the Cluster that archives does not say it.
    expect(files.find((file) => file.name === 'cnpg-cluster.yaml')!.text).to.not.include('No continuous archiving')
  })
})
