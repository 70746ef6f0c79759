import {expect} from 'chai'

import {downSwarmStack} from '../../../../../src/lib/targets/swarm/cluster/down.js'
import {LABELS} from '../../../../../src/lib/model/config/labels.js'
import {StackctlError, UsageError} from '../../../../../src/lib/errors.js'
import {dbNodeLabel} from '../../../../../src/lib/targets/swarm/db-node.js'
import {stubSwarmContext} from '../../../../support/stub-swarm-context.js'

const STATE = {
  stackId: 'stack-1',
  endpoint: 'unix:///state/swarms/t/node1/docker.sock',
  dbNode: 't-node2',
  replicas: 3,
  secretVersion: 1,
  passwordSha256: 'abc',
}

/** `demo` deployed from this directory (stack id stack-1), its db pinned on node 2. */
async function deployed(options: {local?: boolean; stackId?: string} = {}) {
  const stub = await stubSwarmContext({local: options.local, swarmState: STATE})
  stub.swarm.nodeList[1].labels[dbNodeLabel('demo')] = 'true'
  const labels = {[LABELS.stackId]: options.stackId ?? 'stack-1'}
  stub.swarm.serviceList = [
    {id: 's1', name: 'demo_db', replicas: 1, labels},
    {id: 's2', name: 'demo_app', replicas: 3, labels},
  ]
  return stub
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => expect.fail('expected a refusal'),
    (e: Error) => e,
  )
}

describe('swarm stack down: what it removes and what it refuses', () => {
  it('removes the stack and keeps the data volume on its node, and the db pinned there', async () => {
    const {sw, managerCli, hostCli, swarm} = await deployed()
    const result = await downSwarmStack(sw)
    expect(managerCli.calls).to.deep.equal(['stack rm demo'])
    expect(hostCli.calls.filter((c) => c.includes('volume rm'))).to.deep.equal([])
    expect(result).to.deep.include({
      removed: true,
      volume: {name: 'demo_postgres_data', node: 't-node2', removed: false},
    })
    expect(swarm.changes).to.deep.equal([])
    expect(swarm.nodeList[1].labels[dbNodeLabel('demo')]).to.equal('true')
  })

  it('with --volumes --force deletes the volume on the db’s node and unpins it (the control: it can delete)', async () => {
    const {sw, hostCli, swarm} = await deployed()
    const result = await downSwarmStack(sw, {volumes: true, force: true})
    expect(hostCli.calls).to.include('exec t-node2 docker volume rm demo_postgres_data')
    expect(result.volume).to.deep.equal({name: 'demo_postgres_data', node: 't-node2', removed: true})
    expect(swarm.changes).to.deep.equal([`label t-node2 ${dbNodeLabel('demo')}=null`])
  })

  it('asks before deleting the volume; unconfirmed (or no terminal), nothing is changed', async () => {
    const {sw, managerCli, hostCli} = await deployed()
    const asked: string[] = []
    const error = await failure(
      downSwarmStack(sw, {
        volumes: true,
        confirm: async (question, expected) => {
          asked.push(`${question} [${expected}]`)
          return false
        },
      }),
    )
    expect(error).to.be.instanceOf(StackctlError)
    expect(error.message).to.equal('not deleting demo_postgres_data: not confirmed; nothing was changed')
    expect(asked).to.deep.equal([
      'delete the data volume demo_postgres_data on t-node2? Every visit in it is lost. [demo_postgres_data]',
    ])
    expect([...managerCli.calls, ...hostCli.calls]).to.deep.equal([])
    const noTerminal = await failure(downSwarmStack(sw, {volumes: true}))
    expect(noTerminal.message).to.match(/not confirmed; nothing was changed/)
    expect(managerCli.calls).to.deep.equal([])
  })

  it('refuses --volumes on a remote swarm or without a pinned db, changing nothing', async () => {
    const remote = await deployed({local: false})
    const error = await failure(downSwarmStack(remote.sw, {volumes: true, force: true}))
    expect(error).to.be.instanceOf(UsageError)
    expect(error.message).to.match(/--volumes with --target swarm needs the local swarm and a pinned db node/)
    expect(remote.managerCli.calls).to.deep.equal([])
    const unpinned = await deployed()
    delete unpinned.swarm.nodeList[1].labels[dbNodeLabel('demo')]
    expect(await failure(downSwarmStack(unpinned.sw, {volumes: true, force: true}))).to.be.instanceOf(UsageError)
    expect(unpinned.managerCli.calls).to.deep.equal([])
  })

  it('refuses a stack deployed from another directory (another stack id), changing nothing', async () => {
    const {sw, managerCli} = await deployed({stackId: 'someone-else'})
    const error = await failure(downSwarmStack(sw))
    expect(error.message).to.equal(
      `stack 'demo' on ${sw.target.endpoint} is not this stack directory's (demo_db, demo_app carry another stack id)`,
    )
    expect((error as StackctlError).exitCode).to.equal(2)
    expect(managerCli.calls).to.deep.equal([])
  })

  it('removes nothing when nothing is deployed, and says so', async () => {
    const {sw, managerCli} = await stubSwarmContext({swarmState: STATE})
    const result = await downSwarmStack(sw)
    expect(result.removed).to.equal(false)
    expect(managerCli.calls).to.deep.equal([])
  })
})
