import {expect} from 'chai'
import {readFileSync, writeFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {parse} from 'yaml'

import {renderCompose, type RenderInput} from '../../../../src/lib/targets/compose/render.js'
import {localImages, registryImages} from '../../../../src/lib/engine/images/stack-images.js'
import {appRuntime} from '../../../../src/lib/engine/capabilities.js'
import type {EngineDescription} from '../../../../src/lib/engine/engine.js'

const template = readFileSync(
  fileURLToPath(new URL('../../../../templates/compose/docker-compose.yml', import.meta.url)),
  'utf8',
)
const golden = (name: string) => fileURLToPath(new URL(`golden/${name}`, import.meta.url))

function input(overrides: Partial<RenderInput['config']> = {}, images = localImages(17)): RenderInput {
  return {
    config: {project: 'demo', host: '127.0.0.1', port: 5000, pgMajor: 17, ...overrides},
    images,
    appImage: 'stackctl-app:0123456789ab',
    appUser: '1000:1000',
    identity: {stackId: '0123456789abcdef', dir: '/home/dev/demo/.stackctl'},
  }
}

/** UPDATE_GOLDEN=1 rewrites the files after an intended change; review the diff before committing. */
function matchGolden(name: string, actual: string) {
  if (process.env.UPDATE_GOLDEN) writeFileSync(golden(name), actual)
  expect(actual).to.equal(readFileSync(golden(name), 'utf8'))
}

describe('compose rendering', () => {
  it('renders the local-image stack exactly as the golden file', () => {
    matchGolden('local-17.yml', renderCompose(template, input()))
  })

  it('renders a new stack that archives its WAL (the default) as the golden file', () => {
    matchGolden('wal-archive-17.yml', renderCompose(template, input({walArchive: true})))
    const doc = parse(renderCompose(template, input({walArchive: true})))
    expect(doc.services.db.command).to.deep.equal([
      'postgres',
      '-c',
      'archive_mode=on',
      '-c',
      'archive_command=pgbackrest --stanza=visits archive-push %p',
      '-c',
      'archive_timeout=10s',
    ])
    expect(doc.services.db.volumes[1]).to.deep.equal({type: 'volume', source: 'backups', target: '/var/lib/pgbackrest'})
    // External: `down --volumes` (Compose's down -v) never removes it.
    expect(doc.volumes.backups).to.deep.equal({name: 'demo_backups', external: true})
    expect(doc.services.db.environment).to.include({PGBACKREST_REPO1_PATH: '/var/lib/pgbackrest'})
    // Nothing secret in pgBackRest's settings: no password, and no variable naming one.
    expect(JSON.stringify(doc.services.db.environment)).to.not.match(/PGBACKREST_[A-Z0-9_]*(PASS|KEY|SECRET)/)
    // Off: none of it (negative control).
    const off = parse(renderCompose(template, input({walArchive: false})))
    expect(off.services.db).to.not.have.property('command')
    expect(off.volumes).to.not.have.property('backups')
    expect(off.services.db.volumes).to.have.length(1)
  })

  it('renders the registry stack on a custom port and PostgreSQL 18 as the golden file', () => {
    matchGolden('registry-18.yml', renderCompose(template, input({port: 8080, pgMajor: 18}, registryImages(18))))
  })

  it('renders a stack upgraded to PostgreSQL 17 (from 15) on its new volume as the golden file', () => {
    matchGolden('upgraded-15-to-17.yml', renderCompose(template, input({volume: 'demo_postgres_data_pg17'})))
    const doc = parse(renderCompose(template, input({volume: 'demo_postgres_data_pg17'})))
    expect(doc.volumes.postgres_data.name).to.equal('demo_postgres_data_pg17')
    expect(doc.services.db.volumes[0]).to.include({source: 'postgres_data', target: '/var/lib/postgresql/data'})
    // The default volume needs no name: Compose derives <project>_postgres_data itself.
    expect(
      parse(renderCompose(template, input({volume: 'demo_postgres_data'}))).volumes.postgres_data,
    ).not.to.have.property('name')
  })

  it('publishes the database with --db-port on 127.0.0.1 only, whatever --host says, as the golden file', () => {
    matchGolden('db-port-17.yml', renderCompose(template, input({dbPort: 15432})))
    const doc = parse(renderCompose(template, input({host: '0.0.0.0', dbPort: 15432})))
    expect(doc.services.db.ports).to.deep.equal([
      {target: 5432, host_ip: '127.0.0.1', published: '15432', protocol: 'tcp'},
    ])
    // Without it nothing of the database is published (negative control for the golden files above).
    expect(parse(renderCompose(template, input({dbPort: undefined}))).services.db).to.not.have.property('ports')
  })

  describe('on each engine, from what it says of itself (describe())', () => {
    const engine = (kind: EngineDescription['kind'], rootless: boolean) => ({kind, rootless})
    const on = (facts: Pick<EngineDescription, 'kind' | 'rootless'>): RenderInput => {
      const runtime = appRuntime(facts, {uid: 1000, gid: 1000})
      return {...input(), appUser: runtime.user, appUsernsMode: runtime.usernsMode}
    }

    it('rootful Docker and rootful Podman: exactly the golden file of the local-image stack', () => {
      for (const kind of ['docker', 'podman'] as const) {
        expect(renderCompose(template, on(engine(kind, false)))).to.equal(readFileSync(golden('local-17.yml'), 'utf8'))
      }
    })

    it('rootless Podman: the API keeps the user’s own id inside (userns_mode: keep-id), as the golden file', () => {
      const text = renderCompose(template, on(engine('podman', true)))
      matchGolden('rootless-podman-17.yml', text)
      const app = parse(text).services.app
      expect(app).to.include({user: '1000:1000', userns_mode: 'keep-id'})
      // The db is the entrypoint's business (root inside, then postgres): it keeps the default namespace.
      expect(parse(text).services.db).to.not.have.property('userns_mode')
      // Negative control: the same facts without `rootless` render no user namespace.
      expect(parse(renderCompose(template, on(engine('podman', false)))).services.app).to.not.have.property(
        'userns_mode',
      )
    })

    it('rootless Docker: the API runs as the container’s root, the unprivileged user on the host, as the golden file', () => {
      const text = renderCompose(template, on(engine('docker', true)))
      matchGolden('rootless-docker-17.yml', text)
      const app = parse(text).services.app
      expect(app.user).to.equal('0:0')
      expect(app).to.not.have.property('userns_mode')
      // Still no capability and a read-only root: root in a rootless namespace with nothing extra.
      expect(app.cap_drop).to.deep.equal(['ALL'])
      expect(app.read_only).to.equal(true)
      expect(parse(renderCompose(template, on(engine('docker', false)))).services.app.user).to.equal('1000:1000')
    })
  })

  it('is pure: the same input gives the same text', () => {
    expect(renderCompose(template, input())).to.equal(renderCompose(template, input()))
  })

  it('keeps the volume named postgres_data and mounts it at the major-specific path', () => {
    const doc = parse(renderCompose(template, input({pgMajor: 18}, registryImages(18))))
    expect(doc.volumes).to.have.property('postgres_data')
    expect(doc.services.db.volumes[0]).to.include({
      type: 'volume',
      source: 'postgres_data',
      target: '/var/lib/postgresql',
    })
    const doc17 = parse(renderCompose(template, input()))
    expect(doc17.services.db.volumes[0].target).to.equal('/var/lib/postgresql/data')
  })

  it('publishes the API on the configured host and port only', () => {
    const doc = parse(renderCompose(template, input({host: '127.0.0.2', port: 6001})))
    expect(doc.services.app.ports).to.deep.equal([
      {target: 5000, host_ip: '127.0.0.2', published: '6001', protocol: 'tcp'},
    ])
    expect(doc.services.db.ports).to.equal(undefined)
  })

  it("runs the engine's health checks as a slow background signal that tolerates a loaded host", () => {
    // Every probe is an exec (runc, the shim, the engine): an idle stack must cost under 1 % of a core (bench).
    const doc = parse(renderCompose(template, input()))
    for (const service of ['db', 'app']) {
      const {interval, timeout, retries} = doc.services[service].healthcheck
      expect({service, interval, timeout, retries}).to.deep.equal({
        service,
        interval: '60s',
        timeout: '10s',
        retries: 3,
      })
    }
  })

  it('hardens the API container and never carries a password value', () => {
    const text = renderCompose(template, input())
    const doc = parse(text)
    const app = doc.services.app
    expect(app.cap_drop).to.deep.equal(['ALL'])
    expect(app.read_only).to.equal(true)
    expect(app.security_opt).to.include('no-new-privileges:true')
    expect(app.user).to.equal('1000:1000')
    // The API waits for its database itself: Compose starts it without waiting for the db's first check.
    expect(app.depends_on.db).to.deep.equal({condition: 'service_started', restart: true})
    expect(doc.services.db.environment).to.not.have.property('POSTGRES_PASSWORD')
    expect(app.environment).to.not.have.property('POSTGRES_PASSWORD')
    expect(doc.secrets.db_password.file).to.equal('./secrets/db_password')
    expect(doc.services.db.healthcheck.test).to.deep.equal([
      'CMD',
      'pg_isready',
      '-h',
      '127.0.0.1',
      '-U',
      'postgres',
      '-d',
      'visits',
    ])
  })
})

describe('compose rendering in development mode', () => {
  const overlayText = readFileSync(
    fileURLToPath(new URL('../../../../templates/compose/app-dev.yml', import.meta.url)),
    'utf8',
  )
  const dev = {
    overlayText,
    sourceDir: '/work/tree/src/api',
    toolchainDir: '/opt/stackctl/node_modules',
    runnerDir: '/opt/stackctl/templates/dev',
  }

  it('renders the dev stack exactly as the golden file', () => {
    matchGolden('dev-17.yml', renderCompose(template, {...input(), dev}))
  })

  it('bind-mounts the sources read-only instead of building, and leaves db untouched', () => {
    const normal = parse(renderCompose(template, input()))
    const devDoc = parse(renderCompose(template, {...input(), dev}))
    expect(normal.services.app.build).to.be.an('object')
    expect(normal.services.app.volumes).to.equal(undefined)
    expect(normal.services.app.labels['io.stackctl.mode']).to.equal('normal')
    expect(devDoc.services.app.build).to.equal(undefined)
    expect(devDoc.services.app.image).to.equal('stackctl/node:20')
    expect(devDoc.services.app.labels['io.stackctl.mode']).to.equal('dev')
    expect(devDoc.services.app.volumes[0]).to.deep.equal({
      type: 'bind',
      source: '/work/tree/src/api',
      target: '/src/api',
      read_only: true,
    })
    expect(devDoc.services.app.volumes.every((v: {read_only: boolean}) => v.read_only)).to.equal(true)
    expect(devDoc.services.db).to.deep.equal(normal.services.db)
    expect(devDoc.volumes).to.deep.equal(normal.volumes)
  })
})
