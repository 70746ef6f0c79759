import {expect} from 'chai'

import {
  compareLedgers,
  LEDGER_SQL,
  parseLedger,
  totalRows,
  type Ledger,
} from '../../../../src/lib/operations/db/ledger.js'
import {StackctlError} from '../../../../src/lib/errors.js'

const A = 'a'.repeat(32)
const B = 'b'.repeat(32)

describe('ledger', () => {
  it('parses tables (names may hold the separator) and sequences', () => {
    const ledger = parseLedger(
      [
        'sequence|public.visits_id_seq|1000000',
        'sequence|public.unused_seq|',
        `table|public."we|ird"|0|${A}`,
        `table|public.visits|1000000|${B}`,
      ].join('\n'),
    )
    expect(ledger).to.deep.equal({
      tables: [
        {name: 'public."we|ird"', rows: 0, checksum: A},
        {name: 'public.visits', rows: 1_000_000, checksum: B},
      ],
      sequences: {'public.visits_id_seq': '1000000', 'public.unused_seq': ''},
    })
    expect(totalRows(ledger)).to.equal(1_000_000)
  })

  it('refuses lines it does not understand instead of guessing', () => {
    expect(() => parseLedger('table|public.visits|many|x')).to.throw(StackctlError, /unexpected ledger line/)
    expect(() => parseLedger('index|public.visits_pkey')).to.throw(StackctlError, /unexpected ledger line/)
  })

  it('hashes whole rows in an order that depends on neither storage nor collation', () => {
    expect(LEDGER_SQL).to.include('md5(t::text)')
    expect(LEDGER_SQL).to.include("string_agg(h, '''' ORDER BY h)")
    expect(LEDGER_SQL).to.include('FROM ONLY')
  })

  it('finds every difference between the old data and the copy', () => {
    const before: Ledger = {
      tables: [
        {name: 'public.visits', rows: 3, checksum: A},
        {name: 'public.visit_counter', rows: 1, checksum: A},
        {name: 'public.notes', rows: 2, checksum: A},
      ],
      sequences: {'public.visits_id_seq': '3'},
    }
    expect(compareLedgers(before, before)).to.deep.equal([])
    const copy: Ledger = {
      tables: [
        {name: 'public.visits', rows: 2, checksum: A},
        {name: 'public.visit_counter', rows: 1, checksum: B},
        {name: 'public.extra', rows: 0, checksum: A},
      ],
      sequences: {'public.visits_id_seq': ''},
    }
    expect(compareLedgers(before, copy)).to.deep.equal([
      'table public.visits: 2 rows instead of 3',
      'table public.visit_counter: same 1 rows, other content',
      'table public.notes is missing',
      'table public.extra is new',
      'sequence public.visits_id_seq is at its start instead of 3',
    ])
  })
})
