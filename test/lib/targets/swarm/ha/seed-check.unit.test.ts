import {expect} from 'chai'

import {
  BINARY_FIELDS,
  controlDataProblems,
  parseControlData,
  parseVisitFacts,
  seedMismatch,
} from '../../../../../src/lib/targets/swarm/ha/seed-check.js'

/** pg_controldata of a PostgreSQL 17 directory, as the Patroni image prints it (trimmed to what is compared). */
const PG17 = `pg_control version number:            1700
Catalog version number:               202406281
Database system identifier:           7445623153452212345
Database cluster state:               shut down
Database block size:                  8192
Blocks per segment of large relation: 131072
WAL block size:                       8192
Bytes per WAL segment:                16777216
Maximum length of identifiers:        64
Maximum columns in an index:          32
Maximum data alignment:               8
Date/time type storage:               64-bit integers
Float8 argument passing:              by value
Data page checksum version:           0`

describe('seeding the HA members from a single db: the checks', () => {
  it('reads pg_controldata, and finds a directory of the same build compatible whatever its system id or checksums', () => {
    const seed = parseControlData(PG17)
    expect(seed.get('Catalog version number')).to.equal('202406281')
    const image = parseControlData(
      PG17.replace('7445623153452212345', '7445623153452299999').replace(
        'checksum version:           0',
        'checksum version:           1',
      ),
    )
    expect(controlDataProblems(seed, image)).to.deep.equal([])
  })

  it('refuses another catalog version or block size, naming both values (negative control of the check above)', () => {
    const image = parseControlData(PG17)
    const pg16 = parseControlData(PG17.replace('202406281', '202307071').replace('1700', '1300'))
    expect(controlDataProblems(pg16, image)).to.deep.equal([
      "pg_control version number 1300 (the Patroni image's PostgreSQL has 1700)",
      "Catalog version number 202307071 (the Patroni image's PostgreSQL has 202406281)",
    ])
    const blocks = parseControlData(
      PG17.replace('Database block size:                  8192', 'Database block size: 32768'),
    )
    expect(controlDataProblems(blocks, image)).to.have.length(1)
    expect(controlDataProblems(parseControlData('garbage'), image)).to.have.length(BINARY_FIELDS.length)
  })

  it('proves the seeded leader holds the single db visits: same count and highest id, else says both', () => {
    const single = parseVisitFacts('8|8\n')!
    expect(single).to.deep.equal({count: 8, maxId: 8})
    expect(seedMismatch(single, parseVisitFacts('8|8'))).to.equal(undefined)
    expect(seedMismatch(single, parseVisitFacts('7|7'))).to.equal(
      'the seeded leader holds 7 visits (highest id 7), the single db held 8 (highest id 8)',
    )
    expect(seedMismatch(single, parseVisitFacts('8|9'))).to.be.a('string')
    expect(seedMismatch(single, parseVisitFacts('psql: error'))).to.equal(
      'the seeded leader did not answer with its visits',
    )
  })
})
