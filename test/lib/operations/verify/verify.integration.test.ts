/**
 * The persistence check against the real engine, on one shared healthy stack: it passes in every teardown
 * mode (kill five times in a row with writes in flight), with 1,000 visits, and it fails — naming the ids —
 * when rows are deleted behind its back. It also leaves the stack as it found it, on success and on failure.
 */
import {expect} from 'chai'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {formatDuration} from '../../../../src/lib/operations/verify/report.js'
import type {PersistenceResult} from '../../../../src/lib/operations/verify/result.js'
import {verifyPersistence, type VerifyOptions} from '../../../../src/lib/targets/compose/disruptions.js'
import {loadStack, type StackContext} from '../../../../src/lib/stack/context.js'
import {offlineResolver} from '../../../../src/lib/targets/compose/image-resolver.js'
import {isHealthy, stackStatus} from '../../../../src/lib/stack/status.js'
import {upStack} from '../../../../src/lib/targets/compose/up.js'
import {freePort} from '../../../helpers/cli.js'
import {docker, engine, engines, removeComposeProject, uniqueName} from '../../../helpers/docker.js'

describe('verify-persistence on a healthy stack (integration)', function () {
  this.timeout(600_000)
  const project = uniqueName('persist')
  const dir = mkdtempSync(path.join(tmpdir(), 'stackctl-persist-'))
  const resolver = offlineResolver(engine)
  let ctx: StackContext

  before(async () => {
    const port = await freePort()
    ctx = await loadStack({dir, project, port, imageSource: 'local'}, {engines})
    await upStack(ctx, resolver)
  })

  after(async () => {
    await removeComposeProject(project)
    rmSync(dir, {recursive: true, force: true})
  })

  function check(options: Partial<VerifyOptions> = {}): Promise<PersistenceResult> {
    return verifyPersistence(ctx, {visits: 100, concurrency: 8, mode: 'down', resolver, ...options})
  }

  function expectPassed(result: PersistenceResult): void {
    expect(result.reasons, result.reasons.join('\n')).to.deep.equal([])
    expect(result.passed).to.equal(true)
    expect(result.missing).to.deep.equal([])
    expect(result.checksumAfter).to.equal(result.checksumBefore)
    expect(result.durability).to.deep.include({
      fsync: 'on',
      synchronousCommit: 'on',
      fullPageWrites: 'on',
      dataOnNamedVolume: true,
      volume: `${project}_postgres_data`,
    })
    expect(result.phases.every((p) => p.ok)).to.equal(true)
  }

  async function containerIds(): Promise<string[]> {
    return (await engine.containers.list({project})).map((c) => c.id).sort()
  }

  it('passes in down mode: 100 visits by 8 clients survive compose down, on new containers', async () => {
    const before = await containerIds()
    const result = await check()
    expectPassed(result)
    expect(result).to.include({mode: 'down', visitsRequested: 100, attempted: 100, acknowledged: 100})
    expect(result.before).to.equal(result.baseline! + 100)
    expect(result.after).to.equal(result.before)
    expect(result.phases.map((p) => p.name)).to.deep.equal([
      'prepare',
      'baseline',
      'write',
      'snapshot',
      'teardown',
      'relaunch',
      'verify',
      'audit',
    ])
    expect(result.stack).to.deep.equal({foundRunning: true, leftRunning: true})
    const after = await containerIds()
    expect(after).to.have.length(2)
    expect(after.filter((id) => before.includes(id))).to.deep.equal([])
    expect(isHealthy(await stackStatus(ctx))).to.equal(true)
  })

  it('passes in recreate mode', async () => {
    const before = await containerIds()
    const result = await check({mode: 'recreate'})
    expectPassed(result)
    expect(result.acknowledged).to.equal(100)
    expect((await containerIds()).filter((id) => before.includes(id))).to.deep.equal([])
  })

  it('passes in kill mode five runs in a row, with writes in flight when PostgreSQL is SIGKILLed', async () => {
    for (let run = 1; run <= 5; run++) {
      const result = await check({mode: 'kill', visits: 200, concurrency: 16})
      const {kill} = result
      console.log(
        `      kill run ${run}: ${result.acknowledged} acknowledged of ${result.attempted} attempted, ` +
          `${(result.after ?? 0) - (result.baseline ?? 0)} new rows; killed after ${kill?.acknowledgedBeforeKill} ` +
          `with ${kill?.inFlightAtKill} in flight, ${kill?.failedAfterKill} failed, db exit ${kill?.dbExitCode}`,
      )
      expectPassed(result)
      expect(kill).to.not.equal(null)
      expect(kill!.acknowledgedBeforeKill).to.be.at.least(50)
      expect(kill!.inFlightAtKill).to.be.greaterThan(0)
      expect(kill!.failedAfterKill).to.be.greaterThan(0)
      expect(kill!.dbExitCode).to.equal(137)
      expect(result.attempted).to.be.at.most(200)
      const fresh = result.after! - result.baseline!
      expect(fresh).to.be.within(result.acknowledged, result.attempted)
    }
  })

  it('passes with 1,000 visits in down mode (time reported, not asserted)', async () => {
    const started = performance.now()
    const result = await check({visits: 1000, concurrency: 16})
    const total = Math.round(performance.now() - started)
    console.log(
      `      1,000 visits, down mode: ${formatDuration(total)} — ` +
        result.phases.map((p) => `${p.name} ${formatDuration(p.ms)}`).join(', '),
    )
    expectPassed(result)
    expect(result.acknowledged).to.equal(1000)
  })

  it('fails and lists the missing ids when acknowledged rows are deleted between teardown and verify', async () => {
    let deleted: number[] = []
    const result = await check({
      visits: 30,
      hooks: {
        async beforeVerify(run) {
          deleted = [...run.acknowledgedIds].sort((a, b) => a - b).filter((_, i) => i % 10 === 3)
          await run.sql(`DELETE FROM visits WHERE id IN (${deleted.join(',')})`)
        },
      },
    })
    expect(deleted).to.have.length(3)
    expect(result.passed).to.equal(false)
    expect(result.missing).to.deep.equal(deleted)
    expect(result.missingCount).to.equal(3)
    expect(result.after).to.equal(result.before! - 3)
    expect(result.checksumAfter).to.not.equal(result.checksumBefore)
    expect(result.reasons.join('\n')).to.include(
      `3 of 30 acknowledged visits are missing after the relaunch: ids ${deleted.join(', ')}`,
    )
    expect(result.reasons.join('\n')).to.include('that existed before teardown changed')
    expect(result.phases.find((p) => p.name === 'verify')?.ok).to.equal(false)
    expect(result.phases.find((p) => p.name === 'audit')?.ok).to.equal(true)
  })

  it('relaunches the stack it found running even when the check breaks after teardown', async () => {
    const result = await check({
      visits: 10,
      hooks: {
        afterTeardown() {
          throw new Error('broken on purpose')
        },
      },
    })
    expect(result.passed).to.equal(false)
    expect(result.reasons).to.deep.equal(['afterTeardown hook: broken on purpose'])
    expect(result.phases.map((p) => p.name)).to.deep.equal([
      'prepare',
      'baseline',
      'write',
      'snapshot',
      'teardown',
      'leave-as-found',
    ])
    expect(result.stack).to.deep.equal({foundRunning: true, leftRunning: true})
    expect(isHealthy(await stackStatus(ctx))).to.equal(true)
  })

  it('starts a stopped stack for the check and stops it again, keeping the volume', async () => {
    await ctx.compose.down()
    const result = await check({visits: 20})
    expectPassed(result)
    expect(result.phases.at(-1)?.name).to.equal('leave-as-found')
    expect(result.stack).to.deep.equal({foundRunning: false, leftRunning: false})
    expect(await engine.containers.list({project})).to.deep.equal([])
    await docker.getVolume(`${project}_postgres_data`).inspect()
  })

  it('leaves a stopped stack running with keepRunning', async () => {
    const result = await check({visits: 20, keepRunning: true})
    expectPassed(result)
    expect(result.stack).to.deep.equal({foundRunning: false, leftRunning: true})
    expect(isHealthy(await stackStatus(ctx))).to.equal(true)
  })
})
