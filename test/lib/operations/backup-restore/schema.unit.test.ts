import {expect} from 'chai'

import {COUNTER_SHARDS as API_COUNTER_SHARDS, SCHEMA_SQL} from '../../../../src/api/db.js'
import {
  advanceSequenceSql,
  COUNTER_SHARDS,
  COUNTER_TABLE_SQL,
  counterProblem,
  type DataState,
  judgeSchema,
  parseDataState,
  parseSchemaReport,
  rebuildCounterSql,
  type SchemaReport,
  schemaVersionOf,
  sequenceBehind,
} from '../../../../src/lib/operations/backup-restore/schema.js'

const visitTracker: SchemaReport = {
  visits: {
    kind: 'r',
    columns: [
      {name: 'id', type: 'bigint', identity: 'a'},
      {name: 'visited_at', type: 'timestamp with time zone', identity: ''},
    ],
    primaryKey: ['id'],
  },
  visit_counter: {
    kind: 'r',
    columns: [
      {name: 'shard', type: 'smallint', identity: ''},
      {name: 'n', type: 'bigint', identity: ''},
    ],
    primaryKey: ['shard'],
  },
}

describe('visit-tracker schema checks', () => {
  it('matches the API: same shard count, same counter table', () => {
    expect(COUNTER_SHARDS).to.equal(API_COUNTER_SHARDS)
    expect(SCHEMA_SQL).to.include(COUNTER_TABLE_SQL)
  })

  it('passes the schema the API creates, as schema version 1', () => {
    expect(judgeSchema(visitTracker)).to.deep.equal({problems: [], counterMissing: false})
    expect(schemaVersionOf(visitTracker)).to.equal(1)
    expect(judgeSchema(parseSchemaReport(JSON.stringify(visitTracker)))).to.deep.equal({
      problems: [],
      counterMissing: false,
    })
  })

  it('refuses a foreign visits table, naming what it found and what it expected', () => {
    const foreign: SchemaReport = {
      visits: {
        kind: 'r',
        columns: [
          {name: 'name', type: 'text', identity: ''},
          {name: 'secret', type: 'text', identity: ''},
        ],
        primaryKey: [],
      },
    }
    expect(judgeSchema(foreign).problems).to.deep.equal([
      'visits has columns name text, secret text; expected id bigint, visited_at timestamptz',
    ])
    expect(schemaVersionOf(foreign)).to.equal(null)
  })

  it('refuses wrong types, a missing identity or primary key, a view, and no visits table at all', () => {
    const withVisits = (visits: Partial<NonNullable<SchemaReport['visits']>>): SchemaReport => ({
      ...visitTracker,
      visits: {...visitTracker.visits!, ...visits},
    })
    expect(
      judgeSchema(
        withVisits({
          columns: [
            {name: 'id', type: 'integer', identity: 'a'},
            {name: 'visited_at', type: 'timestamp with time zone', identity: ''},
          ],
        }),
      ).problems,
    ).to.deep.equal([
      'visits has columns id integer, visited_at timestamptz; expected id bigint, visited_at timestamptz',
    ])
    expect(
      judgeSchema(
        withVisits({
          columns: [
            {name: 'id', type: 'bigint', identity: ''},
            {name: 'visited_at', type: 'timestamp with time zone', identity: ''},
          ],
          primaryKey: [],
        }),
      ).problems,
    ).to.deep.equal([
      'visits has no primary key on id',
      'visits.id is not an identity column, so new visits would get no id',
    ])
    expect(judgeSchema(withVisits({kind: 'v'})).problems).to.deep.equal(["visits is not a plain table (relkind 'v')"])
    expect(judgeSchema({}).problems).to.deep.equal(['it has no table visits'])
    expect(judgeSchema({visit_counter: visitTracker.visit_counter}).problems).to.deep.equal([
      'it has no table visits (only visit_counter)',
    ])
  })

  it('refuses a counter table of another shape, but only notes a missing one (it can be rebuilt)', () => {
    const wrongCounter: SchemaReport = {
      ...visitTracker,
      visit_counter: {kind: 'r', columns: [{name: 'total', type: 'integer', identity: ''}], primaryKey: []},
    }
    expect(judgeSchema(wrongCounter).problems).to.deep.equal([
      'visit_counter has columns total integer; expected shard smallint, n bigint',
    ])
    const noPk: SchemaReport = {...visitTracker, visit_counter: {...visitTracker.visit_counter!, primaryKey: []}}
    expect(judgeSchema(noPk).problems).to.deep.equal(['visit_counter has no primary key on shard'])
    expect(judgeSchema({visits: visitTracker.visits})).to.deep.equal({problems: [], counterMissing: true})
    expect(schemaVersionOf({visits: visitTracker.visits})).to.equal(null)
  })

  describe('the counter and the identity', () => {
    const state = (overrides: Partial<DataState>): DataState => ({
      visits: 10,
      counterSum: 10,
      shards: [0],
      negativeShards: 0,
      maxId: 10,
      sequence: 'public.visits_id_seq',
      sequenceLast: 10,
      sequenceStart: 1,
      ...overrides,
    })

    it("keeps the API's counter: one row, shard 0, adding up to count(*)", () => {
      expect(COUNTER_SHARDS).to.equal(1)
      expect(counterProblem(state({}))).to.equal(undefined)
    })

    it('says why a counter must be rebuilt', () => {
      expect(counterProblem(state({counterSum: 7}))).to.equal('visit_counter adds up to 7, but visits holds 10 rows')
      expect(counterProblem(state({shards: []}))).to.equal('visit_counter has shard 0 missing')
      expect(counterProblem(state({shards: [0, 16, 17, 18, 19, 40]}))).to.equal(
        'visit_counter has unexpected shards 16, 17, 18, … 40',
      )
      expect(counterProblem(state({shards: [3, 7]}))).to.equal(
        'visit_counter has shard 0 missing and unexpected shards 3, 7',
      )
      expect(counterProblem(state({negativeShards: 1}))).to.equal('visit_counter has negative shards')
      expect(counterProblem(state({counterSum: undefined, shards: undefined}))).to.equal(
        'the backup has no visit_counter table',
      )
    })

    it('folds the 16 shard rows of an earlier stackctl into shard 0, saying why', () => {
      const earlier = Array.from({length: 16}, (_, i) => i)
      expect(counterProblem(state({shards: earlier}))).to.equal(
        'visit_counter is spread over 16 shard rows (the layout of an earlier stackctl); folded into shard 0',
      )
      // Rows that do not add up are a wrong counter, whatever the layout.
      expect(counterProblem(state({shards: earlier, counterSum: 9}))).to.equal(
        'visit_counter adds up to 9, but visits holds 10 rows',
      )
    })

    it('rebuilds the counter as the API would have it: all of count(*) on shard 0', () => {
      expect(rebuildCounterSql(true)).to.match(/^DELETE FROM visit_counter; INSERT INTO visit_counter/)
      expect(rebuildCounterSql(false).startsWith(COUNTER_TABLE_SQL)).to.equal(true)
      expect(rebuildCounterSql(false)).to.include('generate_series(0, 0)')
    })

    it('spots an identity that would hand out an id already taken', () => {
      expect(sequenceBehind(state({}))).to.equal(false)
      expect(sequenceBehind(state({sequenceLast: 9}))).to.equal(true)
      expect(sequenceBehind(state({sequenceLast: null, maxId: 1}))).to.equal(true)
      expect(sequenceBehind(state({sequenceLast: null, maxId: null, visits: 0}))).to.equal(false)
      expect(advanceSequenceSql(state({maxId: 42}))).to.equal("SELECT setval('public.visits_id_seq', 42)")
    })

    it('parses the JSON the server reports', () => {
      const parsed = parseDataState(
        JSON.stringify({visits: 3, maxId: 3, sequence: 'public.visits_id_seq', sequenceLast: 3, sequenceStart: 1}),
      )
      expect(parsed).to.deep.equal({
        visits: 3,
        maxId: 3,
        sequence: 'public.visits_id_seq',
        sequenceLast: 3,
        sequenceStart: 1,
      })
      expect(counterProblem(parsed)).to.equal('the backup has no visit_counter table')
    })
  })
})
