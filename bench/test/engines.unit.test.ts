import {expect} from 'chai'

import {engineAccess, engineKindOf, passwdUser, type EngineAccess} from '../../test/helpers/engines.js'
import {
  allExact,
  engineMissingLine,
  enginesSection,
  enginesTable,
  ratiosToDocker,
  updateEnginesText,
  upTimes,
  type EngineRun,
  type EnginesResult,
} from '../engines-report.js'
import {turned} from '../engines.js'
import {parseOptions} from '../options.js'
import type {LoadResult} from '../results.js'

function load(rps: number, p99: number, exact = true): LoadResult {
  return {
    connections: 32,
    seconds: 10,
    requests: rps * 10,
    rps,
    p50: p99 / 3,
    p99,
    non2xx: 0,
    errors: 0,
    timeouts: 0,
    loadBefore: 1,
    exactness: {
      replies: rps * 10,
      monotonicViolations: 0,
      duplicateTotals: exact ? 0 : 2,
      finalTotal: 1,
      rows: 1,
      counted: 1,
      exact,
    },
  }
}

function run(key: EngineRun['key'], fresh: number[], stopped: number[], rps: number, p99: number, exact = true) {
  const title = engineAccess(key).title
  const rootless = key.endsWith('rootless')
  return {
    key,
    title,
    engine: `${key.startsWith('podman') ? 'Podman 4.3.1' : 'Docker 20.10.24'}${rootless ? ' rootless' : ''}`,
    apiVersion: '1.41',
    rootless,
    upFresh: upTimes(fresh),
    upStopped: upTimes(stopped),
    load: load(rps, p99, exact),
  } satisfies EngineRun
}

function result(runs: EngineRun[], missing: EnginesResult['missing'] = []): EnginesResult {
  return {
    startedAt: '2026-12-07T05:00:00.000Z',
    finishedAt: '2026-12-07T05:10:00.000Z',
    seconds: 10,
    warmUpSeconds: 5,
    upRuns: 3,
    connections: 32,
    loadAtStart: [1.5, 2, 2.25],
    loadAtEnd: [3, 2.5, 2.3],
    cores: 2,
    engines: ratiosToDocker(runs),
    missing,
  }
}

const docker = run('docker', [9000, 10_000, 11_000], [4000, 5000, 4500], 2000, 40)
const podman = run('podman-rootless', [18_000, 20_000, 19_000], [5000, 7500, 9000], 1500, 60)

describe('bench engines step', () => {
  it('takes the median of the up runs', () => {
    expect(upTimes([3100.4, 1000, 2000.6])).to.deep.equal({runsMs: [3100, 1000, 2001], medianMs: 2001})
  })

  it('sets each engine against rootful Docker from the same run: slower up above 1, fewer req/s below 1', () => {
    const [d, p] = ratiosToDocker([docker, podman])
    expect(d.vsDocker).to.deep.equal({upFresh: 1, upStopped: 1, rps: 1, p99: 1})
    expect(p.vsDocker).to.deep.equal({upFresh: 1.9, upStopped: 1.67, rps: 0.75, p99: 1.5})
    // Without Docker in the run there is nothing to set them against.
    expect(ratiosToDocker([podman])[0].vsDocker).to.equal(undefined)
  })

  it('renders the table with version, ratios and the exactness verdict', () => {
    const table = enginesTable(result([docker, podman]))
    expect(table.split('\n')[0]).to.equal(
      '| engine | version | rootless | up fresh s | up from stopped s | req/s @32 | p99 ms | ' +
        'ratio vs Docker (up fresh / up stopped / req/s / p99) | exact |',
    )
    expect(table).to.include(
      '| rootful Docker | Docker 20.10.24 (API 1.41) | no | 10.0 | 4.5 | 2000 | 40 | 1 / 1 / 1 / 1 | yes |',
    )
    expect(table).to.include(
      '| rootless Podman | Podman 4.3.1 rootless (API 1.41) | yes | 19.0 | 7.5 | 1500 | 60 | 1.9 / 1.67 / 0.75 / 1.5 | yes |',
    )
    expect(table).to.not.include('**no**')
    // The control: totals that were not exact say so.
    const inexact = run('podman', [1000], [1000], 10, 10, false)
    expect(enginesTable(result([docker, inexact]))).to.match(/^\| rootful Podman .* \| \*\*no\*\* \|$/m)
    expect(allExact(result([docker, podman]))).to.equal(true)
    expect(allExact(result([docker, inexact]))).to.equal(false)
    expect(enginesTable(result([podman]))).to.include('| – (Docker not measured) |')
  })

  it('names an engine that does not answer, with the command that starts it', () => {
    expect(engineMissingLine(engineAccess('podman'), 'connect ENOENT /run/podman/podman.sock')).to.equal(
      'rootful Podman (podman) is not reachable at unix:///run/podman/podman.sock: connect ENOENT ' +
        '/run/podman/podman.sock; start it with: sudo bash scripts/podman-engine.sh',
    )
    const noUser: EngineAccess = {
      key: 'docker-rootless',
      title: 'rootless Docker',
      kind: 'docker',
      rootless: true,
      socket: '/run/user/(no user stackctl-docker)/docker.sock',
      provision: 'sudo bash scripts/rootless-engine.sh docker',
      userName: 'stackctl-docker',
    }
    expect(engineMissingLine(noUser, 'there is no user stackctl-docker')).to.equal(
      'rootless Docker (docker-rootless) is not reachable: there is no user stackctl-docker; ' +
        'start it with: sudo bash scripts/rootless-engine.sh docker',
    )
  })

  it('writes its section between its markers, added once with its heading', () => {
    const body = enginesSection(
      result([docker, podman], [{key: 'podman', title: 'rootful Podman', line: 'x'}]),
      'f.json',
    )
    expect(body).to.match(/^Run 2026-12-07T05:00:00.000Z \(`f.json`\)/)
    expect(body).to.include('load average (1 / 5 / 15 min) 1.50 / 2.00 / 2.25 at the start and 3.00 / 2.50 / 2.30')
    expect(body).to.include('medians of 3 run(s)')
    expect(body).to.include('Not measured:\n- x')
    const original = '# Benchmarks\n\n## Latest run\n\nL\n\n## Charts\n\nC\n'
    const added = updateEnginesText(original, 'one')
    expect(added).to.equal(
      '# Benchmarks\n\n## Latest run\n\nL\n\n## Engines\n\n<!-- bench:engines:start -->\none\n' +
        '<!-- bench:engines:end -->\n\n## Charts\n\nC\n',
    )
    const replaced = updateEnginesText(added, 'two')
    expect(replaced).to.equal(added.replace('\none\n', '\ntwo\n'))
    expect(updateEnginesText('# B\n', 'x')).to.equal(
      '# B\n\n## Engines\n\n<!-- bench:engines:start -->\nx\n<!-- bench:engines:end -->\n',
    )
  })

  it('turns the engines’ order each round', () => {
    expect([0, 1, 2, 3, 4].map((r) => turned(['a', 'b', 'c'], r).join(''))).to.deep.equal([
      'abc',
      'bca',
      'cab',
      'abc',
      'bca',
    ])
    expect(turned([], 3)).to.deep.equal([])
  })

  it('parses --only engines: 3 up runs, all four engines, nothing written unless --write', () => {
    expect(parseOptions(['--only', 'engines'])).to.deep.include({
      only: 'engines',
      upRuns: 3,
      seconds: 10,
      write: false,
      engines: ['docker', 'docker-rootless', 'podman', 'podman-rootless'],
    })
    expect(
      parseOptions(['--only', 'engines', '--engines', 'podman,docker,podman', '--write', '--seconds', '5']),
    ).to.deep.include({engines: ['podman', 'docker'], write: true, seconds: 5, warmUpSeconds: 5})
    expect(() => parseOptions(['--only', 'engines', '--engines', 'docker,kubernetes'])).to.throw(
      "--engines takes a comma-separated list of docker, docker-rootless, podman, podman-rootless, got 'docker,kubernetes'",
    )
    // The other steps keep writing nothing, and the full run keeps its own default.
    expect(() => parseOptions(['--only', 'upgrade', '--write'])).to.throw('--write goes with --only engines')
    expect(() => parseOptions(['--engines', 'docker'])).to.throw('--engines goes with --only engines')
    expect(parseOptions([])).to.include({write: true, upRuns: 5})
    expect(parseOptions(['--only', 'idle'])).to.include({write: false})
  })

  it('reads an engine’s user from passwd and the engine’s kind from its version', () => {
    const passwd = 'root:x:0:0:root:/root:/bin/bash\nstackctl-podman:x:1003:1003::/home/stackctl-podman:/bin/sh\n'
    expect(passwdUser('stackctl-podman', passwd)).to.deep.equal({uid: 1003, gid: 1003, home: '/home/stackctl-podman'})
    expect(passwdUser('stackctl-docker', passwd)).to.equal(undefined)
    expect(engineKindOf([{Name: 'Podman Engine'}, {Name: 'Conmon'}])).to.equal('podman')
    expect(engineKindOf([{Name: 'Engine'}, {Name: 'containerd'}])).to.equal('docker')
    expect(engineKindOf([])).to.equal(undefined)
  })
})
