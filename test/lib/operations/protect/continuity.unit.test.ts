import {expect} from 'chai'

import {plainCommand} from '../../../../src/lib/model/config/command-line.js'
import {
  findGaps,
  gapCheck,
  parseArchiveListing,
  type ArchiveListing,
  type BackupStart,
} from '../../../../src/lib/operations/protect/continuity.js'

const MB16 = 16 * 1024 * 1024
const SHA = '0a78dbd85adf34455e489ed1cafcdbd6d900b6dd'
const T0 = 1_800_000_000

/** `find` lines of the archive id 17-1, one per file name, archived a second apart. */
function files(names: string[]): string {
  return names.map((name, i) => `file ${T0 + i}.5 17-1/${name.slice(0, 16)}/${name}`).join('\n')
}

const segment = (timeline: number, log: number, seg: number) =>
  [timeline, log, seg].map((n) => n.toString(16).toUpperCase().padStart(8, '0')).join('')
const archived = (timeline: number, log: number, seg: number) => `${segment(timeline, log, seg)}-${SHA}.lz4`
const range = (timeline: number, from: number, to: number) =>
  Array.from({length: to - from + 1}, (_, i) => archived(timeline, 0, from + i))

function backup(label: string, archiveStart: string, stop = T0): string {
  return `backup ${label}={"backup-archive-start":"${archiveStart}","backup-archive-stop":"${archiveStart}","backup-timestamp-stop":${stop},"backup-type":"full"}`
}

const FIRST = backup('20261206-195554F', segment(1, 0, 2))

function listing(names: string[], extra: string[] = [FIRST]): ArchiveListing {
  return parseArchiveListing([files(names), ...extra].join('\n'))
}

const missing = (l: ArchiveListing, bytes = MB16) => findGaps(l, bytes).gaps.map((g) => [g.first, g.last, g.count])

describe('WAL archive continuity', () => {
  it('reads the repository listing: whole segments of the newest archive id, history files, backup starts', () => {
    // 16-1: the archive of the cluster before a stanza-upgrade; 17-2 is the current one.
    const output = [
      `file 1796586959.6650125670 17-2/0000000100000000/000000010000000000000002.00000028.backup`,
      `file 1796586959.5570125670 17-2/0000000100000000/000000010000000000000002-${SHA}.lz4`,
      `file 1796587000.0000000000 17-2/0000000100000000/000000010000000000000003.partial-${SHA}.lz4`,
      `file 1796587047.1370125670 17-2/00000002.history`,
      `file 1796586000.0000000000 16-1/0000000100000000/000000010000000000000009-${SHA}.gz`,
      'file 1796587124.1450125670 archive.info',
      'history archive/visits/17-2/00000002.history 1\t0/7000000\tafter LSN 0/6000190',
      'history archive/visits/17-2/00000002.history ',
      backup('20261206-195554F', '000000010000000000000002', 1796586959),
      'backup 20261206-195839F={"backup-archive-start":',
    ].join('\n')
    const parsed = parseArchiveListing(output)
    expect(parsed.segments).to.deep.equal([{name: '000000010000000000000002', timeline: 1, archivedAt: 1796586959557}])
    expect([...parsed.histories]).to.deep.equal([[2, [{timeline: 1, endLsn: 0x7000000n}]]])
    expect(parsed.backups).to.deep.equal([
      {label: '20261206-195554F', archiveStart: '000000010000000000000002', stop: 1796586959},
    ])
  })

  it('finds a segment missing in the middle; the same archive without the hole has none', () => {
    const whole = range(1, 2, 8)
    expect(missing(listing(whole))).to.deep.equal([])
    const holed = whole.filter((name) => !name.startsWith(segment(1, 0, 5)))
    expect(missing(listing(holed))).to.deep.equal([['000000010000000000000005', '000000010000000000000005', 1]])
    const gap = findGaps(listing(holed), MB16).gaps[0]
    expect(gap.fromLsn).to.equal('0/5000000')
    expect(gap.before?.name).to.equal('000000010000000000000004')
    expect(gap.coveredBy).to.equal(undefined)
    // Several in a row: one gap, first to last.
    const wide = whole.filter((name) => !/0000000[4-6]-/.test(name))
    expect(missing(listing(wide))).to.deep.equal([['000000010000000000000004', '000000010000000000000006', 3]])
  })

  it('counts from the oldest backup start: older segments are expired, newer ones not archived yet', () => {
    // Segments before the backup's first one are not needed; the one being written is not in the archive yet.
    expect(missing(listing(range(1, 2, 6), [backup('20261206-195554F', segment(1, 0, 1))]))).to.deep.equal([
      ['000000010000000000000001', '000000010000000000000001', 1],
    ])
    expect(missing(listing(range(1, 2, 6), [backup('20261206-195554F', segment(1, 0, 3))]))).to.deep.equal([])
    expect(findGaps(listing(range(1, 2, 6)), MB16).newest?.name).to.equal('000000010000000000000006')
    // No backup: nothing to restore onto, so no range to judge.
    expect(missing(listing(range(1, 2, 3).concat(archived(1, 0, 9)), []))).to.deep.equal([])
  })

  it('crosses a log-file boundary (…FF → next log …00) with the segment size the server uses', () => {
    const boundary = [archived(1, 0, 0xfe), archived(1, 0, 0xff), archived(1, 1, 0), archived(1, 1, 1)]
    const from = [backup('20261206-195554F', segment(1, 0, 0xfe))]
    expect(missing(listing(boundary, from))).to.deep.equal([])
    expect(
      missing(
        listing(
          boundary.filter((_, i) => i !== 1),
          from,
        ),
      ),
    ).to.deep.equal([['0000000100000000000000FF', '0000000100000000000000FF', 1]])
    expect(
      missing(
        listing(
          boundary.filter((_, i) => i !== 2),
          from,
        ),
      ),
    ).to.deep.equal([['000000010000000100000000', '000000010000000100000000', 1]])
    // 64 MB segments: 64 to a log file, 00..3F; at 16 MB the same files miss 40..FF.
    const big = [archived(1, 0, 0x3e), archived(1, 0, 0x3f), archived(1, 1, 0)]
    const bigFrom = [backup('20261206-195554F', segment(1, 0, 0x3e))]
    expect(missing(listing(big, bigFrom), 4 * MB16)).to.deep.equal([])
    expect(missing(listing(big, bigFrom), MB16)).to.deep.equal([
      ['000000010000000000000040', '0000000100000000000000FF', 0xc0],
    ])
  })

  it('follows the timeline history: a switch after a restore is no gap, a hole on the new timeline is', () => {
    const history = 'history archive/visits/17-1/00000002.history 1\t0/7000000\tafter LSN 0/6000190'
    // The old timeline went on to 8 before the restore; the new one starts at 7.
    const switched = [...range(1, 2, 8), ...range(2, 7, 10)]
    expect(missing(listing(switched, [FIRST, history]))).to.deep.equal([])
    const holed = switched.filter((name) => !name.startsWith(segment(2, 0, 8)))
    expect(missing(listing(holed, [FIRST, history]))).to.deep.equal([
      ['000000020000000000000008', '000000020000000000000008', 1],
    ])
    // The old timeline's copy of 8 is past its end: it does not fill the new timeline's hole.
    expect(holed).to.include(archived(1, 0, 8))
    // A hole on the old timeline before the switch is one.
    const early = switched.filter((name) => !name.startsWith(segment(1, 0, 4)))
    expect(missing(listing(early, [FIRST, history]))).to.deep.equal([
      ['000000010000000000000004', '000000010000000000000004', 1],
    ])
  })

  it('a switch in the middle of a segment: either timeline’s copy of that segment counts', () => {
    const history = 'history archive/visits/17-1/00000002.history 1\t0/6000190\tafter LSN 0/6000120'
    const names = [...range(1, 2, 5), ...range(2, 6, 8)]
    expect(missing(listing(names, [FIRST, history]))).to.deep.equal([])
    const withoutNew = names.filter((name) => !name.startsWith(segment(2, 0, 6)))
    expect(missing(listing([...withoutNew, archived(1, 0, 6)], [FIRST, history]))).to.deep.equal([])
    expect(missing(listing(withoutNew, [FIRST, history]))).to.deep.equal([
      ['000000020000000000000006', '000000020000000000000006', 1],
    ])
  })

  it('.partial and .backup files are not segments: they neither fill a hole nor end the archive', () => {
    const names = [...range(1, 2, 3), `${segment(1, 0, 4)}.partial-${SHA}.lz4`, archived(1, 0, 5)]
    expect(missing(listing(names))).to.deep.equal([['000000010000000000000004', '000000010000000000000004', 1]])
    const tail = [...range(1, 2, 4), `${segment(1, 0, 5)}.partial-${SHA}.lz4`, `${segment(1, 0, 5)}.00000028.backup`]
    const continuity = findGaps(listing(tail), MB16)
    expect(continuity.gaps).to.deep.equal([])
    expect(continuity.newest?.name).to.equal('000000010000000000000004')
  })

  it('an empty archive has no gap and no newest segment', () => {
    expect(findGaps(parseArchiveListing(''), MB16)).to.deep.equal({gaps: []})
    expect(findGaps(listing([]), MB16)).to.deep.equal({gaps: []})
  })

  it('fails on a gap after the newest backup, with a fix that takes a full backup; warns on one a later backup covers', () => {
    const holed = range(1, 2, 9).filter((name) => !name.startsWith(segment(1, 0, 5)))
    const open = gapCheck(findGaps(listing(holed), MB16), plainCommand)!
    expect(open.status).to.equal('fail')
    expect(open.detail).to.equal(
      `the WAL archive has a gap: segment 000000010000000000000005 is missing: a point-in-time restore cannot reach past LSN 0/5000000 (the segment before it was archived at ${new Date((T0 + 2.5) * 1000).toISOString()}); times after the next full backup are recoverable again`,
    )
    expect(open.fix).to.equal(
      'take a full backup now: stackctl snapshot create (a named snapshot: a full backup the archive is whole from)',
    )
    const later: BackupStart = {label: '20261206-210000F', archiveStart: segment(1, 0, 7), stop: T0 + 60}
    const covered = gapCheck(
      findGaps(listing(holed, [FIRST, backup(later.label, later.archiveStart, later.stop)]), MB16),
      plainCommand,
    )!
    expect(covered.status).to.equal('warn')
    expect(covered.detail).to.match(
      /^the WAL archive has a gap before backup 20261206-210000F: segment 0+10+5 is missing/,
    )
    expect(covered.detail).to.include(
      `until that backup ended (${new Date((T0 + 60) * 1000).toISOString()}); times after it are recoverable`,
    )
    expect(covered.fix).to.equal(undefined)
    // A covered gap and a newer open one: the open one fails the check.
    const both = holed.filter((name) => !name.startsWith(segment(1, 0, 8)))
    const two = gapCheck(
      findGaps(listing(both, [FIRST, backup(later.label, later.archiveStart, later.stop)]), MB16),
      plainCommand,
    )!
    expect(two.status).to.equal('fail')
    expect(two.detail).to.match(/^the WAL archive has a gap: segment 0+10+8 is missing: .* \(2 gaps in all\);/)
    expect(gapCheck(findGaps(listing(range(1, 2, 9)), MB16), plainCommand)).to.equal(undefined)
  })

  it('after a stanza-upgrade, judges from the current cluster backups only: an earlier major start is no false gap', () => {
    // 15-1: the cluster before db upgrade (its backup started at segment 2); 17-2: the upgraded one, archived
    // from segment 10 on (the copy was written before it archived), its own full backup starting at 11.
    const output = [
      ...range(1, 10, 14).map((name, i) => `file ${T0 + i}.5 17-2/${name.slice(0, 16)}/${name}`),
      `file ${T0}.5 15-1/0000000100000000/${archived(1, 0, 2)}`,
      `backup 20261206-100000F={"backup-archive-start":"${segment(1, 0, 2)}","backup-timestamp-stop":${T0},"db-id":1}`,
      `backup 20261206-110000F={"backup-archive-start":"${segment(1, 0, 11)}","backup-timestamp-stop":${T0 + 9},"db-id":2}`,
    ].join('\n')
    const parsed = parseArchiveListing(output)
    expect(parsed.backups.map((b) => b.label)).to.deep.equal(['20261206-110000F'])
    expect(findGaps(parsed, MB16).gaps).to.deep.equal([])
    // Negative control: the same listing read as one cluster (no db ids) sees the earlier start, and a hole.
    const unfiltered = parseArchiveListing(output.replaceAll(/,"db-id":\d/g, ''))
    expect(unfiltered.backups).to.have.length(2)
    expect(findGaps({...unfiltered, segments: parsed.segments}, MB16).gaps).to.not.deep.equal([])
  })
})
