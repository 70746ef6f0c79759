/**
 * Negative controls: stacks that look fine after a clean down/up but are not durable. The check must fail each
 * one and name the cause. Each scenario starts the stack afresh with a docker-compose.override.yml layered
 * over the rendered file (the Compose convention stackctl supports); the stack directory and project are this
 * file's own, and every volume its containers ever mounted is removed afterwards.
 */
import {expect} from 'chai'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import type {PersistenceResult} from '../../../../src/lib/operations/verify/result.js'
import {verifyPersistence} from '../../../../src/lib/targets/compose/disruptions.js'
import {loadStack, type StackContext} from '../../../../src/lib/stack/context.js'
import {offlineResolver} from '../../../../src/lib/targets/compose/image-resolver.js'
import {upStack} from '../../../../src/lib/targets/compose/up.js'
import {freePort} from '../../../helpers/cli.js'
import {docker, engine, engines, removeComposeProject, uniqueName} from '../../../helpers/docker.js'

const DATA = '/var/lib/postgresql/data'

describe('verify-persistence negative controls (integration)', function () {
  this.timeout(600_000)
  const project = uniqueName('persist-neg')
  const named = `${project}_postgres_data`
  const dir = mkdtempSync(path.join(tmpdir(), 'stackctl-persist-neg-'))
  const overrideFile = path.join(dir, 'docker-compose.override.yml')
  const resolver = offlineResolver(engine)
  const mountedVolumes = new Set<string>()
  let port: number
  let ctx: StackContext

  before(async () => {
    port = await freePort()
  })

  after(async () => {
    await recordVolumes()
    await removeComposeProject(project)
    for (const name of mountedVolumes) {
      await docker
        .getVolume(name)
        .remove({force: true})
        .catch(() => undefined)
    }
    rmSync(dir, {recursive: true, force: true})
  })

  /** Remembers the volumes our containers mount: anonymous ones outlive `compose down`. */
  async function recordVolumes(): Promise<void> {
    for (const container of await engine.containers.list({project})) {
      const info = await docker.getContainer(container.id).inspect()
      for (const mount of info.Mounts) if (mount.Type === 'volume' && mount.Name) mountedVolumes.add(mount.Name)
    }
  }

  /** Takes the stack down, puts the override in place (or removes it) and starts the stack again. */
  async function startWith(override: string | undefined): Promise<string[]> {
    if ((await engine.containers.list({project})).length > 0) {
      await recordVolumes()
      await ctx.compose.down()
    }
    if (override === undefined) rmSync(overrideFile, {force: true})
    else writeFileSync(overrideFile, override)
    const progress: string[] = []
    ctx = await loadStack(
      {dir, project, port, imageSource: 'local'},
      {engines, progress: (line) => progress.push(line)},
    )
    await upStack(ctx, resolver)
    await recordVolumes()
    return progress
  }

  function check(): Promise<PersistenceResult> {
    return verifyPersistence(ctx, {
      visits: 40,
      concurrency: 4,
      mode: 'down',
      resolver,
      hooks: {beforeTeardown: recordVolumes},
    })
  }

  it('(a) fails a stack whose PGDATA is on tmpfs, naming tmpfs, and finds the acknowledged visits gone', async () => {
    await startWith(`services:\n  db:\n    volumes: !reset []\n    tmpfs:\n      - ${DATA}\n`)
    const result = await check()
    expect(result.passed).to.equal(false)
    expect(result.durability).to.deep.include({dataOnNamedVolume: false, volume: null, storage: `tmpfs at ${DATA}`})
    expect(result.reasons).to.include(
      `the data directory ${DATA} is on tmpfs at ${DATA} (memory): it is lost whenever the container stops`,
    )
    expect(result.missingCount).to.equal(40)
    expect(result.missing).to.have.length(20)
  })

  it('(b) fails a stack whose PGDATA is on an anonymous volume and names it', async () => {
    await startWith(`services:\n  db:\n    volumes: !override\n      - ${DATA}\n`)
    const result = await check()
    expect(result.passed).to.equal(false)
    const volume = result.durability?.volume
    expect(volume).to.be.a('string').and.not.equal(named)
    expect(result.durability?.dataOnNamedVolume).to.equal(false)
    expect(result.reasons.join('\n')).to.include(
      `the data directory ${DATA} is on an anonymous volume (${volume!.slice(0, 12)}), not on the stack's named volume ${named}`,
    )
    expect(result.missingCount).to.equal(40)
  })

  it('(c) fails the audit of a server running with fsync=off, although the data survived', async () => {
    const said = await startWith('services:\n  db:\n    command: [postgres, -c, fsync=off]\n')
    // The override's command replaces the archiving settings too (on by default): up says so and goes on.
    expect(said.join('\n')).to.match(/warning: WAL archiving is off: the running db has archive_mode=off/)
    const result = await check()
    expect(result.passed).to.equal(false)
    expect(result.durability).to.deep.include({fsync: 'off', dataOnNamedVolume: true, volume: named})
    expect(result.missingCount).to.equal(0)
    expect(result.checksumAfter).to.equal(result.checksumBefore)
    expect(result.reasons).to.have.length(1)
    expect(result.reasons[0]).to.match(/^fsync is off: /)
    expect(result.phases.filter((p) => !p.ok).map((p) => p.name)).to.deep.equal(['audit'])
  })

  it('(d) fails the audit of a server running with synchronous_commit=off', async () => {
    await startWith('services:\n  db:\n    command: [postgres, -c, synchronous_commit=off]\n')
    const result = await check()
    expect(result.passed).to.equal(false)
    expect(result.durability).to.deep.include({fsync: 'on', synchronousCommit: 'off', dataOnNamedVolume: true})
    expect(result.reasons).to.have.length(1)
    expect(result.reasons[0]).to.match(/^synchronous_commit is off: /)
  })

  it('control: the same stack without the override passes', async () => {
    const said = await startWith(undefined)
    expect(said.join('\n')).not.to.match(/WAL archiving is off/) // the rendered db archives (the default)
    const result = await check()
    expect(result.reasons).to.deep.equal([])
    expect(result.passed).to.equal(true)
  })
})
