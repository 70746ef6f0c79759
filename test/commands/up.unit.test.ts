/** What `up` prints after starting a stack: the closing block's data line and next steps. */
import {expect} from 'chai'

import {closingBlock, shellWord} from '../../src/commands/up.js'
import type {UpResult} from '../../src/lib/targets/compose/up.js'

function result(over: Partial<UpResult>): UpResult {
  return {
    project: 'demo',
    url: 'http://127.0.0.1:5000',
    dbUrl: null,
    mode: 'normal',
    services: [],
    volume: {name: 'demo_postgres_data', exists: true, pgMajor: 17, superseded: []},
    warnings: [],
    settings: {host: '127.0.0.1', port: 5000, dbPort: null, pgMajor: 17, imageSource: 'local'},
    problems: [],
    archiving: null,
    backups: null,
    images: {source: 'local', postgres: 'stackctl/postgres:17', node: 'stackctl/node:20'},
    seconds: 5,
    visits: 1,
    dir: '/home/me/app/.stackctl',
    ...over,
  }
}

describe('up closing block', () => {
  it('names the volume and its visits, the directory, and next steps without --dir for the default one', () => {
    expect(closingBlock(result({}), false, '/home/me/app')).to.deep.equal([
      '  data      volume demo_postgres_data, 1 visit',
      '  files     /home/me/app/.stackctl',
      '  next      stackctl logs app --follow · stackctl psql · stackctl down',
    ])
  })

  it('passes another directory on, quoted for the shell, and leaves out an unknown count', () => {
    const lines = closingBlock(result({dir: "/tmp/it's here", visits: null}), true, '/home/me/app')
    expect(lines[0]).to.equal('  data      volume demo_postgres_data')
    expect(lines[2]).to.equal(
      "  next      stackctl logs --dir '/tmp/it'\\''s here' app --follow · stackctl psql --dir '/tmp/it'\\''s here' · stackctl down --dir '/tmp/it'\\''s here'",
    )
    expect(lines[3]).to.include('reloads the API')
  })

  it('names the database URL (never the password) only when --db-port published it', () => {
    const published = closingBlock(result({dbUrl: 'postgres://postgres@127.0.0.1:15432/visits'}), false, '/home/me/app')
    expect(published).to.include(
      '  database  postgres://postgres@127.0.0.1:15432/visits (stackctl db url --show-password adds the password)',
    )
    expect(closingBlock(result({}), false, '/home/me/app').join('\n')).to.not.include('database')
  })

  it('quotes only what a shell would split or expand', () => {
    expect(shellWord('/srv/stacks/demo-1')).to.equal('/srv/stacks/demo-1')
    expect(shellWord('/srv/my stacks')).to.equal("'/srv/my stacks'")
    expect(shellWord('/srv/$HOME')).to.equal("'/srv/$HOME'")
  })
})
