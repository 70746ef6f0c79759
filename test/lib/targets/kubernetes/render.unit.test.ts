import {expect} from 'chai'
import {mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {parse} from 'yaml'

import {manifestStream, pgData} from '../../../../src/lib/targets/kubernetes/render.js'
import {find, objects, render, SCENARIOS} from './scenarios.js'

const golden = (name: string) => fileURLToPath(new URL(`golden/${name}`, import.meta.url))

/** UPDATE_GOLDEN=1 rewrites the files after an intended change; review the diff before committing. */
function matchGoldenDir(name: string, files: {name: string; text: string}[]) {
  if (process.env.UPDATE_GOLDEN) {
    mkdirSync(golden(name), {recursive: true})
    for (const file of files) writeFileSync(path.join(golden(name), file.name), file.text)
  }
  expect(readdirSync(golden(name)).sort()).to.deep.equal(files.map((file) => file.name).sort())
  for (const file of files)
    expect(file.text, file.name).to.equal(readFileSync(path.join(golden(name), file.name), 'utf8'))
}

describe('kubernetes rendering', () => {
  for (const [name, options] of Object.entries(SCENARIOS)) {
    it(`renders ${name} exactly as the golden directory`, () => {
      matchGoldenDir(name, render(options))
    })
  }

  it('is pure: the same input gives the same files', () => {
    expect(render({replicas: 5})).to.deep.equal(render({replicas: 5}))
  })

  it('lists every object file in kustomization.yaml, with the namespace, and sets it on every object too', () => {
    for (const options of Object.values(SCENARIOS)) {
      const files = render({...options, namespace: 'visits'})
      const kustomization = parse(files[0].text)
      expect(files[0].name).to.equal('kustomization.yaml')
      expect(files[0].text).to.match(/^# Rendered by stackctl/)
      expect(kustomization.namespace).to.equal('visits')
      expect(kustomization.resources).to.deep.equal(files.slice(1).map((file) => file.name))
      expect(objects(files).map((object) => object.metadata.namespace)).to.deep.equal(
        files.slice(1).map(() => 'visits'),
      )
    }
  })

  it('runs PostgreSQL as one StatefulSet replica whose claim is retained, with the options given', () => {
    const files = render({replicas: 3, storageClass: 'fast', storageSize: '50Gi'})
    const db = find(files, 'StatefulSet')
    expect(db.metadata.name).to.equal('demo-db')
    expect(db.spec.replicas).to.equal(1)
    expect(db.spec.serviceName).to.equal('demo-db')
    expect(db.spec.persistentVolumeClaimRetentionPolicy).to.deep.equal({whenDeleted: 'Retain', whenScaled: 'Retain'})
    expect(db.spec.volumeClaimTemplates).to.have.length(1)
    const claim = db.spec.volumeClaimTemplates[0]
    expect(claim.metadata.name).to.equal('postgres-data')
    expect(claim.spec).to.deep.include({storageClassName: 'fast', accessModes: ['ReadWriteOnce']})
    expect(claim.spec.resources.requests.storage).to.equal('50Gi')
    expect(db.spec.template.spec.terminationGracePeriodSeconds).to.equal(60)
    expect(find(files, 'Deployment').spec.replicas).to.equal(3)
    expect(find(render(), 'StatefulSet').spec.volumeClaimTemplates[0].spec).to.not.have.property('storageClassName')
    expect(find(files, 'Service', 'demo-db').spec.clusterIP).to.equal('None')
  })

  for (const [pgMajor, mount, pgdata] of [
    [17, '/var/lib/postgresql/data', '/var/lib/postgresql/data/pgdata'],
    [18, '/var/lib/postgresql', '/var/lib/postgresql/18/docker'],
  ] as const) {
    it(`mounts the claim and sets PGDATA below it for PostgreSQL ${pgMajor}`, () => {
      const db = find(render({pgMajor}), 'StatefulSet')
      const container = db.spec.template.spec.containers[0]
      expect(container.image).to.equal(`postgres:${pgMajor}`)
      const mounts = container.volumeMounts.filter((mount: {name: string}) => mount.name === 'postgres-data')
      expect(mounts).to.deep.equal([{name: 'postgres-data', mountPath: mount}])
      const env = Object.fromEntries(
        container.env.map((item: {name: string; value: string}) => [item.name, item.value]),
      )
      expect(env.PGDATA).to.equal(pgdata)
      expect(pgData(pgMajor)).to.equal(pgdata)
      expect(path.posix.dirname(env.PGDATA).startsWith(mount)).to.equal(true)
    })
  }

  it('probes the database as the compose healthcheck does, liveness with a longer threshold', () => {
    const container = find(render(), 'StatefulSet').spec.template.spec.containers[0]
    const command = ['pg_isready', '-h', '127.0.0.1', '-U', 'postgres', '-d', 'visits']
    expect(container.readinessProbe.exec.command).to.deep.equal(command)
    expect(container.livenessProbe.exec.command).to.deep.equal(command)
    const patience = (probe: {periodSeconds: number; failureThreshold: number}) =>
      probe.periodSeconds * probe.failureThreshold
    expect(patience(container.livenessProbe)).to.be.above(patience(container.readinessProbe))
    expect(container.lifecycle.preStop.exec.command.slice(0, 3)).to.deep.equal(['pg_ctl', 'stop', '--mode=fast'])
    expect(container.resources.requests).to.have.keys('cpu', 'memory')
    expect(container.resources.limits).to.have.keys('cpu', 'memory')
  })

  it('runs the API hardened, rolling one pod at a time, ready only when /healthz (the database) answers', () => {
    const files = render()
    const app = find(files, 'Deployment')
    const pod = app.spec.template.spec
    const container = pod.containers[0]
    expect(app.spec.strategy.rollingUpdate).to.deep.equal({maxUnavailable: 0, maxSurge: 1})
    expect(container.readinessProbe.httpGet).to.deep.equal({path: '/healthz', port: 'http'})
    expect(container.livenessProbe).to.not.equal(undefined)
    expect(container.livenessProbe.httpGet).to.equal(undefined) // a database outage must not restart the API
    expect(pod.securityContext.runAsNonRoot).to.equal(true)
    expect(container.securityContext).to.deep.equal({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: {drop: ['ALL']},
    })
    const tmp = container.volumeMounts.find((mount: {mountPath: string}) => mount.mountPath === '/tmp')
    expect(pod.volumes.find((volume: {name: string}) => volume.name === tmp.name).emptyDir).to.be.an('object')
    expect(find(files, 'PodDisruptionBudget').spec.selector.matchLabels).to.deep.equal(app.spec.selector.matchLabels)
    expect(find(files, 'Service', 'demo-app').spec.ports[0]).to.include({port: 5000, targetPort: 'http'})
  })

  it('lets only the API reach the database, on 5432', () => {
    const files = render()
    const policy = find(files, 'NetworkPolicy')
    const db = find(files, 'StatefulSet')
    const app = find(files, 'Deployment')
    expect(policy.spec.podSelector.matchLabels).to.deep.equal(db.spec.selector.matchLabels)
    expect(policy.spec.policyTypes).to.deep.equal(['Ingress'])
    expect(policy.spec.ingress).to.deep.equal([
      {from: [{podSelector: {matchLabels: app.spec.selector.matchLabels}}], ports: [{port: 5432, protocol: 'TCP'}]},
    ])
  })

  it('selects each workload’s own pods, and nothing of another stack', () => {
    for (const options of Object.values(SCENARIOS)) {
      const files = render(options)
      for (const workload of objects(files).filter((object) => ['Deployment', 'StatefulSet'].includes(object.kind))) {
        const spec = workload.spec as {selector: {matchLabels: object}; template: {metadata: {labels: object}}}
        expect(spec.template.metadata.labels).to.deep.include(spec.selector.matchLabels)
        expect(spec.selector.matchLabels).to.have.property('app.kubernetes.io/instance', 'demo')
      }
    }
    const other = find(render({project: 'other_stack'}), 'Deployment')
    expect(other.metadata.name).to.equal('other-stack-app')
    expect(other.spec.selector.matchLabels['app.kubernetes.io/instance']).to.equal('other-stack')
  })

  it('references the password only as a Secret mounted as a file, never as a value or a Secret object', () => {
    for (const options of Object.values(SCENARIOS)) {
      const files = render(options)
      expect(objects(files).map((object) => object.kind)).to.not.include('Secret')
      const app = find(files, 'Deployment').spec.template.spec
      const env = app.containers[0].env
      expect(env.map((item: {name: string}) => item.name)).to.not.include('POSTGRES_PASSWORD')
      expect(env).to.deep.include({name: 'POSTGRES_PASSWORD_FILE', value: '/run/secrets/db_password'})
      const secret = app.volumes.find((volume: {name: string}) => volume.name === 'db-password').secret
      expect(secret.items).to.deep.equal([{key: 'password', path: 'db_password'}])
      expect(secret.defaultMode).to.equal(0o440)
      expect(app.containers[0].volumeMounts).to.deep.include({
        name: 'db-password',
        mountPath: '/run/secrets',
        readOnly: true,
      })
    }
    const secretName = (options = {}) =>
      find(render(options), 'Deployment').spec.template.spec.volumes.find(
        (v: {name: string}) => v.name === 'db-password',
      ).secret.secretName
    expect(secretName()).to.equal('demo-db-password')
    expect(secretName({postgres: 'cloudnative-pg'})).to.equal('demo-db-credentials')
  })

  it('with cloudnative-pg renders a Cluster instead of the StatefulSet and points the API at its -rw service', () => {
    const files = render({postgres: 'cloudnative-pg', storageClass: 'fast', pgMajor: 18})
    expect(objects(files).map((object) => object.kind)).to.not.include('StatefulSet')
    const cluster = find(files, 'Cluster')
    expect(cluster.apiVersion).to.equal('postgresql.cnpg.io/v1')
    expect(cluster.spec).to.deep.include({instances: 1, imageName: 'ghcr.io/cloudnative-pg/postgresql:18'})
    expect(cluster.spec.storage).to.deep.equal({size: '10Gi', storageClass: 'fast'})
    expect(cluster.spec.bootstrap.initdb).to.deep.equal({
      database: 'visits',
      owner: 'app',
      secret: {name: 'demo-db-credentials'},
    })
    const env = find(files, 'Deployment').spec.template.spec.containers[0].env
    expect(env).to.deep.include({name: 'POSTGRES_HOST', value: 'demo-db-rw'})
    expect(env).to.deep.include({name: 'POSTGRES_USER', value: 'app'})
    const policy = find(files, 'NetworkPolicy')
    expect(policy.spec.podSelector.matchLabels).to.deep.equal({'cnpg.io/cluster': 'demo-db'})
    expect(policy.spec.ingress[0].ports).to.deep.equal([{port: 5432, protocol: 'TCP'}])
  })

  it('streams the objects without the kustomization, one document each', () => {
    const files = render()
    const stream = manifestStream(files)
    const documents = stream.split(/^---$/m).map((text) => parse(text))
    expect(documents.map((document) => document.kind)).to.deep.equal(objects(files).map((object) => object.kind))
    expect(stream).to.not.include('kind: Kustomization')
  })
})
