/** `describe`'s screen from a report: every part of the stack on its own row, hints addressed to the stack. */
import {expect} from 'chai'

import {commandsFor} from '../../../../src/lib/model/config/command-line.js'
import type {DescribeReport} from '../../../../src/lib/operations/describe/describe.js'
import {describeLines} from '../../../../src/lib/operations/describe/render.js'

const command = commandsFor({dir: '/work/demo/.stackctl', project: 'demo'})

function report(over: Partial<DescribeReport> = {}): DescribeReport {
  return {
    project: 'demo',
    dir: '/work/demo/.stackctl',
    url: 'http://127.0.0.1:8080',
    dbUrl: 'postgres://postgres@127.0.0.1:5433/visits',
    healthy: true,
    services: [
      {
        name: 'db',
        state: 'running',
        health: 'healthy',
        lastHealthCheck: '/var/run/postgresql:5432 - accepting connections',
        image: 'stackctl/postgres:17',
        imageId: 'sha256:be2fb6030c47aa11bb22cc33dd44ee55ff66778899aabbccddeeff0011223344',
      },
      {
        name: 'app',
        state: 'running',
        health: 'healthy',
        lastHealthCheck: null,
        image: 'stackctl-app:4668b3f546a4',
        imageId: 'sha256:5a5e13dfcff6aa11bb22cc33dd44ee55ff66778899aabbccddeeff0011223344',
      },
    ],
    postgresVersion: '17.5',
    imageSource: 'local',
    volume: {name: 'demo_postgres_data', exists: true, pgMajor: 17, sizeBytes: 48_548_659},
    backups: {
      directory: '/work/demo/.stackctl/backups',
      files: [
        {
          file: '/work/demo/.stackctl/backups/demo-pg17-20261206T135929Z.dump',
          bytes: 3164,
          createdAt: '2026-12-06T13:59:29.144Z',
          visits: 1,
          pgMajor: 17,
          problem: null,
        },
        {
          file: '/work/demo/.stackctl/backups/copied.dump',
          bytes: 10,
          createdAt: null,
          visits: null,
          pgMajor: null,
          problem: 'it has no record (copied.dump.json)',
        },
      ],
      archive: null,
    },
    problems: [],
    warnings: [],
    ...over,
  }
}

describe('describe: the screen', () => {
  it('shows services with health, last check and image, the URLs, versions, volume size and backups', () => {
    expect(describeLines(report(), command)).to.deep.equal([
      'project   demo (/work/demo/.stackctl)',
      'url       http://127.0.0.1:8080',
      'db url    postgres://postgres@127.0.0.1:5433/visits (password: stackctl db url --show-password --dir /work/demo/.stackctl --project-name demo)',
      'services  all running and healthy',
      '  db      running, healthy',
      '          image stackctl/postgres:17 (be2fb6030c47)',
      '          last check: /var/run/postgresql:5432 - accepting connections',
      '  app     running, healthy',
      '          image stackctl-app:4668b3f546a4 (5a5e13dfcff6)',
      'postgres  17.5, images from local builds',
      'volume    demo_postgres_data, 46.3 MiB',
      'backups   2 in /work/demo/.stackctl/backups',
      '          demo-pg17-20261206T135929Z.dump  3.09 KiB  1 visit, PostgreSQL 17, 2026-12-06T13:59:29.144Z',
      '          copied.dump  10 B  (it has no record (copied.dump.json))',
      'archive   off (WAL archiving is not on for this stack)',
      'problems  none',
    ])
  })

  it('says what is missing on a stack taken down, with a db URL hint that names the stack', () => {
    const lines = describeLines(
      report({
        dbUrl: null,
        healthy: false,
        services: ['db', 'app'].map((name) => ({
          name,
          state: 'absent',
          health: 'none',
          lastHealthCheck: null,
          image: null,
          imageId: null,
        })),
        postgresVersion: null,
        volume: {name: 'demo_postgres_data', exists: false, pgMajor: 15, sizeBytes: null},
        backups: {directory: '/work/demo/.stackctl/backups', files: [], archive: null},
        problems: [],
      }),
      command,
    )
    expect(lines).to.include(
      'db url    not published (stackctl up --db-port 5432 --dir /work/demo/.stackctl --project-name demo publishes it on 127.0.0.1)',
    )
    expect(lines).to.include('services  not all running and healthy')
    expect(lines).to.include('  db      absent')
    expect(lines).to.include('postgres  15 (the db is not running), images from local builds')
    expect(lines).to.include('volume    demo_postgres_data (absent)')
    expect(lines).to.include('backups   none in /work/demo/.stackctl/backups')
    expect(lines.join('\n')).to.not.include('image ')
  })

  it('shows pgBackRest’s backup sets and WAL range for an archiving stack, or why they were not read', () => {
    const archive = {
      volume: 'demo_backups',
      status: 'ok',
      backups: [
        {label: '20261206-130000F', type: 'full', stoppedAt: '2026-12-06T13:00:03.000Z', bytes: 2_400_000},
        {
          label: '20261206-130000F_20261206-140000I',
          type: 'incr',
          stoppedAt: '2026-12-06T14:00:01.000Z',
          bytes: 81_920,
        },
      ],
      wal: {min: '000000010000000000000001', max: '000000010000000000000007'},
    }
    const lines = describeLines(report({backups: {directory: '/b', files: [], archive}}), command)
    expect(lines).to.include(
      'archive   2 pgBackRest backup sets in volume demo_backups, newest 20261206-130000F_20261206-140000I (incr, 80.0 KiB, 2026-12-06T14:00:01.000Z)',
    )
    expect(lines).to.include('          WAL archived 000000010000000000000001 … 000000010000000000000007')
    const stopped = {...archive, status: 'not read: the db is not running', backups: [], wal: null}
    expect(describeLines(report({backups: {directory: '/b', files: [], archive: stopped}}), command)).to.include(
      'archive   volume demo_backups: not read: the db is not running',
    )
  })

  it('lists the problems and warnings status has, one a row', () => {
    const lines = describeLines(
      report({problems: ['app is running but unhealthy: see stackctl logs app'], warnings: ['the db is published']}),
      command,
    )
    expect(lines.slice(-2)).to.deep.equal([
      'warning   the db is published',
      'problem   app is running but unhealthy: see stackctl logs app',
    ])
  })
})
