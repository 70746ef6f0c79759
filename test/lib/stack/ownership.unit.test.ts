import {expect} from 'chai'

import {judgeOwnership} from '../../../src/lib/stack/ownership.js'

const ID = '0123456789abcdef'
const labelled = (name: string, stackId?: string, dir?: string) => ({
  id: `id-${name}`,
  name,
  labels: {
    'com.docker.compose.project': 'demo',
    ...(stackId ? {'io.stackctl.stack-id': stackId} : {}),
    ...(dir ? {'io.stackctl.dir': dir} : {}),
  },
})

describe('stack ownership', () => {
  it('owns containers and a volume that carry its stack id', () => {
    const report = judgeOwnership(ID, [labelled('demo-db-1', ID)], labelled('demo_postgres_data', ID), {})
    expect(report).to.deep.include({containers: 'ours', volume: 'ours', findings: []})
  })

  it('reports nothing to own when the project has no containers and no volume', () => {
    expect(judgeOwnership(ID, [], undefined, {})).to.deep.include({containers: 'none', volume: 'none'})
  })

  it('calls unlabelled containers and volumes foreign (negative control: same names, no labels)', () => {
    const report = judgeOwnership(ID, [labelled('demo-db-1')], labelled('demo_postgres_data'), {})
    expect(report.containers).to.equal('foreign')
    expect(report.volume).to.equal('foreign')
    expect(report.findings.join('\n')).to.include('not created by stackctl').and.include('no io.stackctl labels')
  })

  it('names the directory of another stackctl stack', () => {
    const report = judgeOwnership(ID, [labelled('demo-app-1', 'ffffffffffffffff', '/srv/other')], undefined, {})
    expect(report.containers).to.equal('foreign')
    expect(report.foreignDir).to.equal('/srv/other')
  })

  it('treats everything as foreign for a directory without a stack id (a new or re-attached one)', () => {
    const report = judgeOwnership(undefined, [labelled('demo-db-1', ID)], labelled('demo_postgres_data', ID), {})
    expect(report).to.deep.include({containers: 'foreign', volume: 'foreign'})
  })

  it('accepts what was adopted: a volume by name, containers by their stack id or container id', () => {
    const report = judgeOwnership(
      ID,
      [labelled('demo-db-1', 'aaaaaaaaaaaaaaaa'), labelled('demo-app-1')],
      labelled('demo_postgres_data'),
      {volume: 'demo_postgres_data', stackIds: ['aaaaaaaaaaaaaaaa'], containerIds: ['id-demo-app-1']},
    )
    expect(report).to.deep.include({containers: 'ours', volume: 'adopted', findings: []})
  })
})
