import {expect} from 'chai'
import {existsSync} from 'node:fs'
import {readFile, writeFile} from 'node:fs/promises'
import path from 'node:path'

import {parse} from 'yaml'

import {chooseReplicas, deploySwarmStack, haSettled} from '../../../../../src/lib/targets/swarm/cluster/deploy.js'
import {StackctlError, UsageError} from '../../../../../src/lib/errors.js'
import type {ImageResolver} from '../../../../../src/lib/stack/images.js'
import {appContext} from '../../../../../src/lib/model/stackdir/stack-files.js'
import {dbNodeLabel} from '../../../../../src/lib/targets/swarm/db-node.js'
import {stubSwarmContext, type StubSwarmContext} from '../../../../support/stub-swarm-context.js'
import {stubTask} from '../../../../support/stub-swarm.js'

interface StackFile {
  services: Record<
    string,
    {
      image: string
      deploy: {replicas?: number; placement?: {constraints?: string[]; max_replicas_per_node?: number}}
      ports?: Array<{published: number; mode?: string}>
    }
  >
}

/** The swarm once deployed: both services, every task the deploy waits for running at once. */
function allRunning(stub: StubSwarmContext, app: number): void {
  stub.swarm.serviceList = [
    {id: 's1', name: 'demo_db', replicas: 1, labels: {}},
    {id: 's2', name: 'demo_app', replicas: app, labels: {}},
  ]
  stub.swarm.taskPolls = [
    [
      stubTask({serviceName: 'demo_db', state: 'running', nodeId: 'n1'}),
      ...Array.from({length: app}, (_, i) =>
        stubTask({serviceName: 'demo_app', state: 'running', slot: i + 1, nodeId: `n${(i % 3) + 1}`}),
      ),
    ],
  ]
}

/** A local 3-node swarm whose host engine already holds both images (no build, no pull). */
async function ready(options: Parameters<typeof stubSwarmContext>[0] = {}) {
  const stub = await stubSwarmContext(options)
  const {tag} = await appContext('stackctl/node:20')
  stub.host.addImage(`stackctl-app:${tag}`)
  const resolver: ImageResolver = {engine: stub.host, pull: async () => false, buildLocal: async () => {}}
  return {...stub, resolver, appImage: `stackctl-app:${tag}`}
}

async function failure(promise: Promise<unknown>): Promise<StackctlError> {
  return promise.then(
    () => expect.fail('expected a refusal'),
    (e: StackctlError) => e,
  )
}

describe('swarm deploy on a 3-node local swarm (over the stub swarm)', () => {
  it('pins the db to the manager, loads postgres onto its node only and the API image onto every node', async () => {
    const stub = await ready()
    allRunning(stub, 3)
    const result = await deploySwarmStack(stub.sw, stub.resolver, {replicas: 3})
    expect(stub.swarm.changes).to.deep.equal([`label t-node1 ${dbNodeLabel('demo')}=true`])
    expect(stub.hostCli.calls.filter((c) => c.startsWith('save'))).to.deep.equal([
      'save stackctl/postgres:17 | exec -i t-node1 docker load',
      ...[1, 2, 3].map((i) => `save ${stub.appImage} | exec -i t-node${i} docker load`),
    ])
    expect(result.images.map((i) => `${i.image} ${i.via} ${i.to.join(',')}`)).to.deep.equal([
      'stackctl/postgres:17 load t-node1',
      `${stub.appImage} load t-node1,t-node2,t-node3`,
    ])
    // Images loaded onto nodes have no registry digest: the deploy must not try to resolve them.
    expect(stub.managerCli.calls).to.deep.equal([
      `stack deploy --detach=true --prune --resolve-image never --compose-file ${stub.sw.stackFile} demo`,
    ])
    expect(result).to.include({healthy: true, dbNode: 't-node1'})
    expect(JSON.parse(await readFile(path.join(stub.sw.stack.paths.dir, 'swarm.json'), 'utf8'))).to.include({
      dbNode: 't-node1',
      replicas: 3,
      secretVersion: 1,
    })
  })

  it('renders the db pinned to its node label and the API with the replicas asked, never the password', async () => {
    const stub = await ready()
    allRunning(stub, 3)
    await deploySwarmStack(stub.sw, stub.resolver, {replicas: 3})
    const text = await readFile(stub.sw.stackFile, 'utf8')
    const stack = parse(text) as StackFile
    expect(stack.services.db.deploy.placement?.constraints).to.include(`node.labels.${dbNodeLabel('demo')} == true`)
    expect(stack.services.db.deploy.replicas ?? 1).to.equal(1)
    expect(stack.services.app.deploy.replicas).to.equal(3)
    expect(stack.services.app.image).to.equal(stub.appImage)
    const password = (await readFile(stub.sw.stack.paths.passwordFile, 'utf8')).trim()
    expect(text).not.to.include(password)
  })

  it('loads an image only onto nodes that lack it (the same image id already there is kept)', async () => {
    const stub = await ready()
    allRunning(stub, 3)
    stub.hostCli.answer((args) =>
      args[0] === 'exec' && args[1] !== 't-node3' && args.includes('inspect') && args.at(-1) === stub.appImage
        ? {stdout: `sha256:${stub.appImage}\n`}
        : undefined,
    )
    const result = await deploySwarmStack(stub.sw, stub.resolver, {replicas: 3})
    expect(result.images[1]).to.deep.include({via: 'load', to: ['t-node3']})
  })

  it('with --registry pushes both images there and deploys resolving them; nothing is loaded', async () => {
    const stub = await ready()
    allRunning(stub, 2)
    const result = await deploySwarmStack(stub.sw, stub.resolver, {replicas: 2, registry: 'reg.example:5000'})
    expect(stub.hostCli.calls.filter((c) => c.startsWith('push'))).to.deep.equal([
      'push --quiet reg.example:5000/stackctl/postgres:17',
      `push --quiet reg.example:5000/${stub.appImage}`,
    ])
    expect(stub.hostCli.calls.filter((c) => c.startsWith('save'))).to.deep.equal([])
    expect(result.images.map((i) => i.via)).to.deep.equal(['registry', 'registry'])
    expect(stub.managerCli.calls[0]).to.include('--resolve-image always')
    const stack = parse(await readFile(stub.sw.stackFile, 'utf8')) as StackFile
    expect(stack.services.app.image).to.equal(`reg.example:5000/${stub.appImage}`)
  })

  it('refuses, before anything reaches the swarm: a port the local swarm does not forward, a remote swarm without a registry, a bad registry', async () => {
    const port = await ready({flags: {port: 9090}})
    const mismatch = await failure(deploySwarmStack(port.sw, port.resolver, {}))
    expect(mismatch).to.be.instanceOf(UsageError)
    expect(mismatch.message).to.equal("local swarm 't' forwards 127.0.0.1:8080, but the stack publishes port 9090")
    expect(mismatch.suggestion).to.equal('pass --port 8080')

    const remote = await ready({local: false})
    const unreachable = await failure(deploySwarmStack(remote.sw, remote.resolver, {}))
    expect(unreachable.message).to.match(/the images cannot reach the nodes of .*: it is not a local swarm/)

    const bad = await ready()
    const registry = await failure(deploySwarmStack(bad.sw, bad.resolver, {registry: 'not a registry!'}))
    expect(registry.message).to.equal("invalid registry 'not a registry!'")
    for (const stub of [port, remote, bad]) {
      expect(stub.managerCli.calls).to.deep.equal([])
      expect(stub.swarm.changes).to.deep.equal([])
    }
  })

  it('refuses a manager that is Podman or a rootless engine, with the reason, before anything is written or deployed', async () => {
    for (const facts of [
      {kind: 'podman' as const, version: '4.3.1', rootless: false},
      {kind: 'podman' as const, version: '4.3.1', rootless: true},
      {kind: 'docker' as const, version: '20.10.24', rootless: true},
    ]) {
      const stub = await ready({local: false})
      stub.manager.description = {...stub.manager.description, ...facts}
      const refused = await failure(deploySwarmStack(stub.sw, stub.resolver, {registry: 'registry.example:5000'}))
      expect(refused.exitCode).to.equal(2)
      expect(refused.message).to.match(
        facts.kind === 'podman'
          ? /^tcp:\/\/manager\.example:2376 cannot be a swarm target: Podman 4\.3\.1( rootless)? has no Swarm mode/
          : /^tcp:\/\/manager\.example:2376 cannot be a swarm target: Docker 20\.10\.24 rootless cannot run a swarm/,
      )
      expect(refused.suggestion).to.match(/^on this engine the stack runs with Compose: stackctl up --dir /)
      expect(stub.managerCli.calls).to.deep.equal([])
      expect(stub.swarm.changes).to.deep.equal([])
      expect(existsSync(path.join(stub.sw.stack.paths.dir, 'stack.json'))).to.equal(false)
    }
    // Control: a rootful Docker manager (the stub's own facts) is deployed to.
    const rootful = await ready()
    allRunning(rootful, 3)
    await deploySwarmStack(rootful.sw, rootful.resolver, {replicas: 3})
    expect(rootful.swarm.changes).to.have.length(1)
    expect(existsSync(path.join(rootful.sw.stack.paths.dir, 'stack.json'))).to.equal(true)
  })

  it('refuses a password file changed since the last deploy over an initialised volume, deploying nothing', async () => {
    const first = await ready()
    allRunning(first, 3)
    await deploySwarmStack(first.sw, first.resolver, {replicas: 3})
    // The same directory again: the volume is now on the db's node.
    const again = await ready({dir: first.sw.stack.paths.dir, swarmState: first.sw.swarmState})
    again.swarm.nodeList[0].labels[dbNodeLabel('demo')] = 'true'
    again.hostCli.answer((args) =>
      args.join(' ') === 'exec t-node1 docker volume inspect demo_postgres_data' ? {exitCode: 0} : {exitCode: 1},
    )
    allRunning(again, 3)
    // Control: the unchanged file deploys.
    await deploySwarmStack(again.sw, again.resolver, {})
    expect(again.managerCli.calls).to.have.length(1)
    await writeFile(again.sw.stack.paths.passwordFile, 'not-the-password\n')
    const error = await failure(deploySwarmStack(again.sw, again.resolver, {}))
    expect(error.message).to.match(/password file .* changed since the last deploy/)
    expect(error.exitCode).to.equal(2)
    expect(error.message + error.suggestion).not.to.include('not-the-password')
    expect(again.managerCli.calls).to.have.length(1)
  })

  it('refuses to move a pinned db elsewhere (--db-node), deploying nothing', async () => {
    const stub = await ready()
    stub.swarm.nodeList[1].labels[dbNodeLabel('demo')] = 'true'
    const error = await failure(deploySwarmStack(stub.sw, stub.resolver, {dbNode: 't-node3'}))
    expect(error.message).to.match(/pinned to t-node2, where its data volume is; stackctl never moves it/)
    expect(stub.managerCli.calls).to.deep.equal([])
  })
})

describe('swarm deploy: the API replicas', () => {
  it('defaults to one per node on a local swarm with a host-mode port', () => {
    expect(chooseReplicas({portMode: 'host', localNodes: 3})).to.equal(3)
    expect(chooseReplicas({portMode: 'host', localNodes: 5})).to.equal(5)
  })

  it('defaults to 2 with the routing mesh, or on a remote swarm (the control)', () => {
    expect(chooseReplicas({portMode: 'ingress', localNodes: 3})).to.equal(2)
    expect(chooseReplicas({portMode: 'host'})).to.equal(2)
  })

  it('keeps --replicas, then the last deploy’s count, over the default', () => {
    expect(chooseReplicas({requested: 1, remembered: 4, portMode: 'host', localNodes: 3})).to.equal(1)
    expect(chooseReplicas({remembered: 4, portMode: 'host', localNodes: 3})).to.equal(4)
  })
})

describe('HA deploy: up waits until every member is in place', () => {
  const member = (name: string, role: string, state: string, timeline: number | null = 1) => ({
    name,
    role,
    state,
    timeline,
    lagBytes: 0,
    node: `n-${name}`,
  })
  const leader = member('pg1', 'leader', 'running')
  const sync = (members: ReturnType<typeof member>[]) => ({
    leader: 'pg1',
    durability: 'sync' as const,
    error: null,
    members,
  })

  it('sync: ready with a leader, every other member streaming on its timeline, one of them synchronous', () => {
    const status = sync([leader, member('pg2', 'quorum_standby', 'streaming'), member('pg3', 'replica', 'streaming')])
    expect(haSettled(status, 3)).to.deep.equal({ready: true, reason: 'pg1 leads, pg2 synchronous'})
  })

  it('controls: no leader, a member still starting or on another timeline, or no synchronous standby yet', () => {
    expect(haSettled({leader: null, durability: 'sync', error: null, members: []}, 3)).to.deep.include({ready: false})
    expect(haSettled({leader: null, durability: 'sync', error: 'exec failed', members: []}, 3).reason).to.include(
      'exec failed',
    )
    // Seen after a deploy under load: one replica streaming, the other still starting.
    expect(
      haSettled(sync([leader, member('pg2', 'quorum_standby', 'streaming'), member('pg3', 'replica', 'starting')]), 3),
    ).to.deep.equal({
      ready: false,
      reason: 'pg1 leads, 1 of 2 others stream (pg3 starting)',
    })
    expect(haSettled(sync([leader, member('pg2', 'quorum_standby', 'streaming')]), 3).ready).to.equal(false)
    expect(
      haSettled(
        sync([leader, member('pg2', 'quorum_standby', 'streaming'), member('pg3', 'replica', 'streaming', 2)]),
        3,
      ).ready,
    ).to.equal(false)
    expect(
      haSettled(sync([leader, member('pg2', 'replica', 'streaming'), member('pg3', 'replica', 'streaming')]), 3),
    ).to.deep.equal({
      ready: false,
      reason: 'pg1 leads but no synchronous standby yet (commits wait for one)',
    })
  })

  it('async: every replica streaming is enough (nothing waits for a synchronous standby)', () => {
    const status = {...sync([leader, member('pg2', 'replica', 'streaming'), member('pg3', 'replica', 'streaming')])}
    expect(haSettled({...status, durability: 'async'}, 3)).to.deep.equal({
      ready: true,
      reason: 'pg1 leads, 2 replicas stream',
    })
  })
})
