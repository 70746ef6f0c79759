/**
 * Room for a point-in-time restore, on one real archiving stack (PostgreSQL 17, pgBackRest). The new volume is
 * put, with --volume-opt, on a small filesystem: a bind mount of a directory inside a 48 MiB tmpfs that a holder
 * container keeps mounted (a tmpfs keeps its files only while something mounts it). The restore needs the
 * backup, the WAL it replays and the live server's 64 MiB reserve: it is refused before the recovery with the
 * numbers, exit 2, and nothing changed: the same db container on the same volume, never restarted, the same
 * visits, no new volume, no recovery container. A directory that holds a file is refused (the file kept); a
 * tmpfs asked for the new volume is refused before anything is made. The control: the same restore, the new volume on the engine's disk (the old volume's options), goes
 * through and gives back every visit.
 */
import {expect} from 'chai'
import {mkdtempSync, rmSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {REPO_PATH} from '../../../../src/lib/model/protection.js'
import {freePort, runCli} from '../../../helpers/cli.js'
import {Cleanup, docker, psqlIn, removeComposeProject, uniqueName} from '../../../helpers/docker.js'

describe('db restore: room on the new volume is checked before the recovery', function () {
  this.timeout(600_000)
  const project = uniqueName('room')
  const root = mkdtempSync(path.join(tmpdir(), 'stackctl-room-'))
  const dir = path.join(root, 'stack')
  const cleanup = new Cleanup()
  const stack = ['--dir', dir, '--project-name', project]
  const small = uniqueName('room-small')
  let smallDir: string

  async function projectVolumes(): Promise<string[]> {
    const {Volumes} = await docker.listVolumes({filters: {label: [`io.stackctl.project=${project}`]}})
    return (Volumes ?? []).map((v) => v.Name).sort()
  }

  async function recoveryContainers(): Promise<string[]> {
    const all = await docker.listContainers({all: true, filters: {label: [`io.stackctl.project=${project}`]}})
    return all.filter((c) => Object.keys(c.Labels).some((key) => key.includes('recovery'))).map((c) => c.Names[0])
  }

  /** The db container, its data volume, when it started and how often it restarted: a restore must not touch it. */
  async function db(): Promise<{id: string; volume: string; startedAt: string; restarts: number}> {
    const [summary] = await docker.listContainers({
      filters: {label: [`com.docker.compose.project=${project}`, 'com.docker.compose.service=db']},
    })
    const info = await docker.getContainer(summary.Id).inspect()
    const volume = info.Mounts.find((m) => m.Type === 'volume' && m.Destination.includes('postgresql'))?.Name ?? ''
    return {id: info.Id, volume, startedAt: info.State.StartedAt, restarts: info.RestartCount}
  }

  const visits = () => psqlIn(project, "SELECT count(*) || ' ' || coalesce(sum(id), 0) FROM visits")

  /** The restore points' records in the repository: a refused restore makes none. */
  async function restorePoints(): Promise<string[]> {
    const exec = await docker.getContainer((await db()).id).exec({
      Cmd: ['sh', '-c', `ls -1 ${REPO_PATH}/stackctl-restore-points 2>/dev/null || true`],
      AttachStdout: true,
    })
    const chunks: Buffer[] = []
    for await (const chunk of await exec.start({})) chunks.push(chunk as Buffer)
    // The stream's 8-byte frame headers are dropped with the non-name characters.
    return Buffer.concat(chunks)
      .toString('utf8')
      .split('\n')
      .map((line) => line.replace(/^[^a-z]+/, '').trim())
      .filter(Boolean)
      .sort()
  }

  before(async () => {
    cleanup.add(async () => rmSync(root, {recursive: true, force: true}))
    cleanup.add(() => removeComposeProject(project))
    // The small filesystem: a 48 MiB tmpfs, held mounted, with an empty directory for the bind mount.
    await docker.createVolume({Name: small, DriverOpts: {type: 'tmpfs', device: 'tmpfs', o: 'size=48m'}})
    cleanup.volume(small)
    const holder = await docker.createContainer({
      name: cleanup.container(small),
      Image: 'stackctl/postgres:17',
      Entrypoint: ['sh', '-c', 'mkdir -p /room/pg && exec sleep infinity'],
      HostConfig: {Binds: [`${small}:/room`]},
    })
    await holder.start()
    const {DockerRootDir} = (await docker.info()) as {DockerRootDir: string}
    smallDir = `${DockerRootDir}/volumes/${small}/_data/pg`
    const port = await freePort()
    const up = await runCli(['up', ...stack, '--port', String(port), '--image-source', 'local', '--wal-archive'])
    expect(up.exitCode, up.stderr).to.equal(0)
    await psqlIn(
      project,
      `WITH v AS (INSERT INTO visits (visited_at) SELECT now() FROM generate_series(1, 20000) RETURNING 1)
       INSERT INTO visit_counter (shard, n) SELECT 0, count(*) FROM v
       ON CONFLICT (shard) DO UPDATE SET n = visit_counter.n + EXCLUDED.n`,
    )
  })

  after(() => cleanup.run())

  it('refuses a restore that does not fit, with the numbers, before the recovery; nothing changed', async () => {
    const before = {
      db: await db(),
      visits: await visits(),
      volumes: await projectVolumes(),
      points: await restorePoints(),
    }
    const bind = ['--volume-opt', 'type=none', '--volume-opt', 'o=bind', '--volume-opt', `device=${smallDir}`]
    const refused = await runCli(['db', 'restore', '--latest', ...stack, ...bind])
    expect(refused.exitCode, refused.stderr).to.equal(2)
    // The room is checked before the restore point: a refused restore leaves none behind.
    expect(refused.stdout + refused.stderr).to.not.match(/restore point before-db-restore/)
    expect(refused.stderr).to.match(
      /not enough space for the restore: the new volume \S+ has [\d.]+ MiB free, the restore needs about [\d.]+ MiB \(the data [\d.]+ MiB \[the (backup|live cluster)'s size.*\], the WAL the replay keeps [\d.]+ MiB, a reserve of 64\.0 MiB kept free for the live database\)/,
    )
    expect(refused.stderr).to.match(/the new volume \S+ removed; the stack stays on \S+, untouched/)
    // The hint repeats the command for this stack, as printed.
    expect(refused.stderr).to.include(`stackctl db restore --dir ${dir} --project-name ${project} --latest`)
    expect(refused.stderr).to.not.match(/restoring backup \S+ into/)
    const after = {
      db: await db(),
      visits: await visits(),
      volumes: await projectVolumes(),
      points: await restorePoints(),
    }
    expect(after).to.deep.equal(before)
    expect(await recoveryContainers()).to.deep.equal([])
  })

  it('never writes into a directory that holds files: refused, the file kept', async () => {
    const holder = docker.getContainer(small)
    const run = async (cmd: string[]) => {
      const exec = await holder.exec({Cmd: cmd, AttachStdout: true})
      const chunks: Buffer[] = []
      for await (const chunk of await exec.start({})) chunks.push(chunk as Buffer)
      return Buffer.concat(chunks).toString('utf8')
    }
    await run(['sh', '-c', 'echo mine > /room/pg/keep'])
    const bind = ['--volume-opt', 'type=none', '--volume-opt', 'o=bind', '--volume-opt', `device=${smallDir}`]
    const refused = await runCli(['db', 'restore', '--latest', ...stack, ...bind])
    expect(refused.exitCode, refused.stderr).to.equal(2)
    expect(refused.stderr).to.match(
      /the new volume \S+ is not empty \(1 entry\): a restore writes only into an empty directory/,
    )
    expect(await run(['cat', '/room/pg/keep'])).to.include('mine')
    await run(['rm', '/room/pg/keep'])
  })

  it('refuses a new volume in memory before anything is made, without a --force hint', async () => {
    const volumes = await projectVolumes()
    const refused = await runCli(['db', 'restore', '--latest', ...stack, '--volume-opt', 'type=tmpfs'])
    expect(refused.exitCode, refused.stderr).to.equal(2)
    expect(refused.stderr).to.match(/--volume-opt puts the new volume in memory \(tmpfs\)/)
    expect(refused.stderr).to.not.include('--force')
    expect(await projectVolumes()).to.deep.equal(volumes)
  })

  it('refuses --volume-opt the engine will not take (a device without its type, an unknown option) in one line with a hint; nothing made, not even a restore point', async () => {
    const before = {volumes: await projectVolumes(), points: await restorePoints(), db: await db()}
    for (const [option, reason] of [
      [`device=${smallDir}`, /missing required option: "type"/],
      ['nosuch=1', /invalid option: "nosuch"/],
    ] as const) {
      const refused = await runCli(['db', 'restore', '--latest', ...stack, '--volume-opt', option])
      expect(refused.exitCode, refused.stderr).to.equal(2)
      expect(refused.stderr).to.match(/^Error: the engine refused the new volume's options, --volume-opt \S+: /m)
      expect(refused.stderr).to.match(reason)
      expect(refused.stderr).to.include(
        `Hint: a bind mount takes all three: stackctl db restore --dir ${dir} --project-name ${project} --latest --volume-opt type=none --volume-opt o=bind --volume-opt device=DIR`,
      )
      // No volume was made, so none is said to be removed.
      expect(refused.stderr).to.not.include('removed')
      expect(refused.stdout + refused.stderr).to.not.match(/restore point before-db-restore/)
    }
    expect({volumes: await projectVolumes(), points: await restorePoints(), db: await db()}).to.deep.equal(before)
    expect(await readFile(path.join(dir, 'stack.json'), 'utf8')).to.not.include('pendingUpgrade')
  })

  it('control: the same restore with room goes through and gives back every visit', async () => {
    const before = {db: await db(), visits: await visits(), points: await restorePoints()}
    const restored = await runCli(['db', 'restore', '--latest', ...stack])
    expect(restored.exitCode, restored.stderr).to.equal(0)
    // The restore that runs makes its point, and the listing above sees it (so its "none made" can fail).
    const made = /restore point (before-db-restore-\S+)/.exec(restored.stdout + restored.stderr)?.[1]
    expect(made, restored.stderr).to.be.a('string')
    expect(await restorePoints()).to.deep.equal([...before.points, made].sort())
    const active = /^active volume: (\S+); kept: (\S+) /m.exec(restored.stdout)
    expect(active, restored.stdout).to.not.equal(null)
    expect(active![2]).to.equal(before.db.volume)
    expect(active![1]).to.not.equal(before.db.volume)
    expect(restored.stdout + restored.stderr).to.match(
      /room: about [\d.]+ MiB needed on \S+ with the reserve, [\d.]+ [GM]iB free/,
    )
    expect((await db()).volume).to.equal(active![1])
    expect(await visits()).to.equal(before.visits)
  })
})
