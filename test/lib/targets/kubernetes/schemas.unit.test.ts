/**
 * Every rendered object against the Kubernetes API's schemas (and CloudNativePG's for the Cluster), offline,
 * with negative controls proving that the validators do reject a wrong object.
 */
import {expect} from 'chai'

import {unknownFieldErrors, validateObject, type KubernetesObject} from './models.js'
import {BACKUP_PROVIDERS, find, objects, render, SCENARIOS} from './scenarios.js'

const all = [...Object.values(SCENARIOS), ...Object.values(BACKUP_PROVIDERS)].flatMap((options) =>
  objects(render(options)),
)

function rejection(work: () => void): string {
  try {
    work()
  } catch (error) {
    return (error as Error).message
  }
  return 'accepted'
}

describe('kubernetes objects against the API schemas', function () {
  this.timeout(60_000)

  it('renders the kinds the schemas cover: StatefulSet, Service, NetworkPolicy, Deployment, PDB, Cluster, ScheduledBackup, ObjectStore', () => {
    expect(new Set(all.map((object) => `${object.apiVersion} ${object.kind}`))).to.deep.equal(
      new Set([
        'apps/v1 StatefulSet',
        'v1 Service',
        'networking.k8s.io/v1 NetworkPolicy',
        'apps/v1 Deployment',
        'policy/v1 PodDisruptionBudget',
        'postgresql.cnpg.io/v1 Cluster',
        'postgresql.cnpg.io/v1 ScheduledBackup',
        'barmancloud.cnpg.io/v1 ObjectStore',
      ]),
    )
  })

  for (const [name, options] of Object.entries({...SCENARIOS, ...BACKUP_PROVIDERS})) {
    it(`validates every object of ${name}`, () => {
      const rendered = objects(render(options))
      expect(rendered.map((object) => [object.kind, rejection(() => validateObject(object))])).to.deep.equal(
        rendered.map((object) => [object.kind, 'accepted']),
      )
    })
  }

  it('declares every field of every object in the API types (no misspelt or unknown field)', () => {
    expect(unknownFieldErrors(all)).to.deep.equal([])
  })

  describe('negative controls', () => {
    const deployment = (): KubernetesObject => structuredClone(find(render(), 'Deployment'))

    it('rejects a Deployment with replicas: "two"', () => {
      const object = deployment() as KubernetesObject & {spec: {replicas: unknown}}
      object.spec.replicas = 'two'
      expect(rejection(() => validateObject(object))).to.include('data/spec/replicas must be integer')
    })

    it('rejects a CloudNativePG Cluster with instances: "one" and a numeric claim retention policy', () => {
      const cluster = structuredClone(find(render({postgres: 'cloudnative-pg'}), 'Cluster'))
      cluster.spec.instances = 'one'
      expect(rejection(() => validateObject(cluster))).to.include('data/spec/instances must be integer')
      const db = structuredClone(find(render(), 'StatefulSet'))
      db.spec.persistentVolumeClaimRetentionPolicy.whenDeleted = 7
      expect(rejection(() => validateObject(db))).to.include('whenDeleted must be string')
    })

    it('rejects an ObjectStore whose retention is not the plugin’s form, and a ScheduledBackup of an unknown method', () => {
      const backup = render(SCENARIOS['cloudnative-pg-backup-s3'])
      const store = structuredClone(find(backup, 'ObjectStore'))
      store.spec.retentionPolicy = '30x'
      expect(rejection(() => validateObject(store))).to.include('data/spec/retentionPolicy must match pattern')
      const scheduled = structuredClone(find(backup, 'ScheduledBackup'))
      scheduled.spec.method = 'pluginn'
      expect(rejection(() => validateObject(scheduled))).to.include('data/spec/method must be equal to one of')
      // The CRD of a current CloudNativePG knows isWALArchiver; a misspelt one is an unknown field.
      const cluster = structuredClone(find(backup, 'Cluster'))
      cluster.spec.plugins[0].isWalArchiver = cluster.spec.plugins[0].isWALArchiver
      delete cluster.spec.plugins[0].isWALArchiver
      expect(unknownFieldErrors([cluster])).to.deep.equal([
        "Cluster/demo-db: data/spec/plugins/0 has the unknown field 'isWalArchiver'",
      ])
    })

    it('rejects a credentials block the ObjectStore does not have (s3Credential)', () => {
      const store = structuredClone(find(render(SCENARIOS['cloudnative-pg-backup-s3']), 'ObjectStore'))
      store.spec.configuration.s3Credential = store.spec.configuration.s3Credentials
      delete store.spec.configuration.s3Credentials
      expect(unknownFieldErrors([store])).to.deep.equal([
        "ObjectStore/demo-db-backups: data/spec/configuration has the unknown field 's3Credential'",
      ])
    })

    it('rejects an object of a kind it has no schema for', () => {
      const object = {...deployment(), apiVersion: 'apps/v1beta9'}
      expect(rejection(() => validateObject(object))).to.equal('no schema for apps/v1beta9 Deployment')
    })

    it('rejects an unknown field deep in a Deployment and in a Cluster', () => {
      const object = deployment() as KubernetesObject & {spec: {template: {spec: {containers: object[]}}}}
      Object.assign(object.spec.template.spec.containers[0], {readinesProbe: {}})
      const cluster = structuredClone(find(render({postgres: 'cloudnative-pg'}), 'Cluster'))
      cluster.spec.bootstrap.initdb.ownr = 'app'
      const errors = unknownFieldErrors([object, cluster])
      expect(errors).to.have.length(2)
      expect(errors[0]).to.match(/^Deployment\/demo-app: .*'"readinesProbe"' does not exist in type 'IContainer'/)
      expect(errors[1]).to.equal("Cluster/demo-db: data/spec/bootstrap/initdb has the unknown field 'ownr'")
    })
  })
})
