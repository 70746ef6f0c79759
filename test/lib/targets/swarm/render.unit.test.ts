import {expect} from 'chai'
import {readFileSync, writeFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {parse} from 'yaml'

import {renderCompose} from '../../../../src/lib/targets/compose/render.js'
import {localImages} from '../../../../src/lib/engine/images/stack-images.js'
import {renderSwarmStack, type SwarmRenderInput} from '../../../../src/lib/targets/swarm/render.js'

const template = (name: string) =>
  readFileSync(fileURLToPath(new URL(`../../../../templates/compose/${name}`, import.meta.url)), 'utf8')
const golden = (name: string) => fileURLToPath(new URL(`golden/${name}`, import.meta.url))

function input(overrides: Partial<SwarmRenderInput> = {}): SwarmRenderInput {
  return {
    config: {project: 'demo', host: '127.0.0.1', port: 5000, pgMajor: 17},
    images: localImages(17),
    appImage: 'stackctl-app:0123456789ab',
    appUser: '1000:1000',
    identity: {stackId: '0123456789abcdef', dir: '/home/dev/demo/.stackctl'},
    replicas: 3,
    dbNodeLabel: 'io.stackctl.db.demo',
    secretName: 'demo_db_password_v1',
    modes: {endpointMode: 'dnsrr', portMode: 'host'},
    ...overrides,
  }
}

function render(overrides: Partial<SwarmRenderInput> = {}): string {
  return renderSwarmStack(template('docker-compose.yml'), template('swarm.yml'), input(overrides))
}

/** UPDATE_GOLDEN=1 rewrites the files after an intended change; review the diff before committing. */
function matchGolden(name: string, actual: string) {
  if (process.env.UPDATE_GOLDEN) writeFileSync(golden(name), actual)
  expect(actual).to.equal(readFileSync(golden(name), 'utf8'))
}

describe('swarm stack rendering', () => {
  it('renders the no-IPVS stack (dnsrr, host-mode port) exactly as the golden file', () => {
    matchGolden('dnsrr-host.yml', render())
  })

  it('renders the VIP + routing-mesh stack exactly as the golden file', () => {
    matchGolden('vip-ingress.yml', render({modes: {endpointMode: 'vip', portMode: 'ingress'}, replicas: 2}))
  })

  it('is a stack file engine 20.10 takes: version key, no name, no build, no depends_on conditions', () => {
    const doc = parse(render())
    expect(doc.version).to.equal('3.8')
    expect(doc).not.to.have.property('name')
    expect(doc.services.app).not.to.have.property('build')
    expect(doc.services.app).not.to.have.property('depends_on')
    for (const service of ['db', 'app']) {
      expect(doc.services[service]).not.to.have.property('restart')
      expect(doc.services[service].deploy.restart_policy).to.deep.equal({condition: 'any', delay: '5s'})
      expect(doc.services[service].healthcheck.test[0]).to.equal('CMD')
    }
  })

  it('pins the db by its node label and never runs two of it on the volume', () => {
    const db = parse(render()).services.db
    expect(db.deploy.placement.constraints).to.deep.equal(['node.labels.io.stackctl.db.demo == true'])
    expect(db.deploy.replicas).to.equal(1)
    expect(db.deploy.update_config.order).to.equal('stop-first')
    expect(db.volumes[0]).to.include({type: 'volume', source: 'postgres_data', target: '/var/lib/postgresql/data'})
  })

  it('uses start-first updates for the app when ports go through the routing mesh, stop-first with host ports', () => {
    const mesh = parse(render({modes: {endpointMode: 'vip', portMode: 'ingress'}})).services.app.deploy
    expect(mesh.update_config.order).to.equal('start-first')
    expect(mesh.rollback_config.order).to.equal('start-first')
    const host = parse(render()).services.app.deploy
    expect(host.update_config.order).to.equal('stop-first')
  })

  it('never publishes the db, even with a --db-port remembered from a Compose run (swarm cannot bind loopback only)', () => {
    const config = {project: 'demo', host: '127.0.0.1', port: 5000, pgMajor: 17, dbPort: 15432}
    const text = render({config})
    // `docker stack deploy` refuses host_ip (and a string port); without it the db would be on every node.
    expect(parse(text).services.db).not.to.have.property('ports')
    expect(text).not.to.contain('15432')
    // Control: the same config publishes the db, on loopback, in the Compose file.
    const compose = parse(renderCompose(template('docker-compose.yml'), {...input({config}), dev: undefined}))
    expect(compose.services.db.ports).to.deep.equal([
      {target: 5432, host_ip: '127.0.0.1', published: '15432', protocol: 'tcp'},
    ])
  })

  it('publishes the port in the mode given and sets the endpoint mode on both services', () => {
    const doc = parse(render({config: {project: 'demo', host: '127.0.0.1', port: 6123, pgMajor: 17}}))
    expect(doc.services.app.ports).to.deep.equal([{target: 5000, published: 6123, protocol: 'tcp', mode: 'host'}])
    expect(doc.services.app.deploy.endpoint_mode).to.equal('dnsrr')
    expect(doc.services.db.deploy.endpoint_mode).to.equal('dnsrr')
    expect(doc.services.app.deploy.replicas).to.equal(3)
  })

  it('names the secret with its version and keeps the password itself out of the file', () => {
    const text = render({secretName: 'demo_db_password_v7'})
    const doc = parse(text)
    expect(doc.secrets.db_password).to.deep.equal({file: './secrets/db_password', name: 'demo_db_password_v7'})
    expect(doc.services.app.environment.POSTGRES_PASSWORD_FILE).to.equal('/run/secrets/db_password')
    expect(text).not.to.match(/POSTGRES_PASSWORD:/)
  })
})
