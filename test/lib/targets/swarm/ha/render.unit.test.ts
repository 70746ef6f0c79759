import {expect} from 'chai'
import {readFileSync, writeFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {parse} from 'yaml'

import {localImages} from '../../../../../src/lib/engine/images/stack-images.js'
import {renderHaStack} from '../../../../../src/lib/targets/swarm/ha/render.js'
import {placeMembers, type Durability} from '../../../../../src/lib/targets/swarm/ha/spec.js'
import {renderSwarmStack} from '../../../../../src/lib/targets/swarm/render.js'

const template = (name: string) =>
  readFileSync(fileURLToPath(new URL(`../../../../../templates/compose/${name}`, import.meta.url)), 'utf8')
const golden = (name: string) => fileURLToPath(new URL(`../golden/${name}`, import.meta.url))

function render(durability: Durability = 'sync', held?: string[]): string {
  const single = renderSwarmStack(template('docker-compose.yml'), template('swarm.yml'), {
    config: {project: 'demo', host: '127.0.0.1', port: 5000, pgMajor: 17},
    images: localImages(17),
    appImage: 'stackctl-app:0123456789ab',
    appUser: '1000:1000',
    identity: {stackId: '0123456789abcdef', dir: '/home/dev/demo/.stackctl'},
    replicas: 3,
    dbNodeLabel: 'io.stackctl.db.demo',
    secretName: 'demo_db_password_v1',
    modes: {endpointMode: 'dnsrr', portMode: 'host'},
  })
  return renderHaStack(single, {
    members: placeMembers({nodes: ['n3', 'n1', 'n2']}),
    durability,
    image: 'stackctl/patroni:17',
    stackId: '0123456789abcdef',
    scope: 'demo',
    held,
  })
}

/** UPDATE_GOLDEN=1 rewrites the file after an intended change; review the diff before committing. */
function matchGolden(name: string, actual: string) {
  if (process.env.UPDATE_GOLDEN) writeFileSync(golden(name), actual)
  expect(actual).to.equal(readFileSync(golden(name), 'utf8'))
}

describe('HA swarm stack rendering (--db-replicas 3)', () => {
  it('renders the HA stack exactly as the golden file', () => {
    matchGolden('ha-dnsrr-host.yml', render())
  })

  it('replaces the single db with 3 etcd and 3 Patroni members, each pinned to its own node and volume', () => {
    const doc = parse(render())
    expect(doc.services).not.to.have.property('db')
    expect(doc.volumes).not.to.have.property('postgres_data')
    const nodes = ['n1', 'n2', 'n3']
    for (const [i, node] of nodes.entries()) {
      for (const [service, volume] of [
        [`pg${i + 1}`, `pg${i + 1}_data`],
        [`etcd${i + 1}`, `etcd${i + 1}_data`],
      ]) {
        const s = doc.services[service]
        expect(s.deploy.placement.constraints, service).to.deep.equal([`node.hostname == ${node}`])
        expect(s.deploy.replicas).to.equal(1)
        expect(s.deploy.update_config.order).to.equal('stop-first')
        expect(s.volumes[0].source).to.equal(volume)
        expect(doc.volumes[volume].labels).to.have.property('io.stackctl.stack-id', '0123456789abcdef')
      }
    }
  })

  it('sends the API to the router, and the router follows Patroni /primary on every member', () => {
    const doc = parse(render())
    expect(doc.services.app.environment.POSTGRES_HOST).to.equal('router')
    expect(doc.services.router.environment.STACKCTL_HA_MEMBERS).to.equal('pg1,pg2,pg3')
    expect(doc.services.router.deploy.replicas).to.equal(3)
    expect(doc.services.router.deploy.placement.max_replicas_per_node).to.equal(1)
  })

  it('is synchronous by default and async only when asked', () => {
    expect(parse(render()).services.pg1.environment.STACKCTL_HA_DURABILITY).to.equal('sync')
    expect(parse(render('async')).services.pg1.environment.STACKCTL_HA_DURABILITY).to.equal('async')
  })

  it('gives the password to the members only as the swarm secret file', () => {
    const text = render()
    const doc = parse(text)
    expect(doc.services.pg1.secrets).to.deep.equal(doc.services.app.secrets)
    expect(doc.services.pg1.environment.POSTGRES_PASSWORD_FILE).to.equal('/run/secrets/db_password')
    expect(doc.secrets.db_password.name).to.equal('demo_db_password_v1')
    expect(text).not.to.match(/PASSWORD:\s*[^/\s]/)
  })

  it('holds the members it is asked to (no task) while the first one takes a single db over; the others as always', () => {
    const doc = parse(render('sync', ['pg2', 'pg3']))
    expect(doc.services.pg1.deploy.replicas).to.equal(1)
    expect(doc.services.pg2.deploy.replicas).to.equal(0)
    expect(doc.services.pg3.deploy.replicas).to.equal(0)
    for (const etcd of ['etcd1', 'etcd2', 'etcd3']) expect(doc.services[etcd].deploy.replicas).to.equal(1)
  })
})
