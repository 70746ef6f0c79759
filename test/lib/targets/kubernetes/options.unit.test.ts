import {expect} from 'chai'

import {UsageError} from '../../../../src/lib/errors.js'
import {inRegistry, planImages} from '../../../../src/lib/targets/kubernetes/images.js'
import {kubernetesNames} from '../../../../src/lib/targets/kubernetes/names.js'
import {
  parseKubernetesOptions,
  validateNamespace,
  validateRegistry,
  validateReplicas,
  validateStorageClass,
  validateStorageSize,
} from '../../../../src/lib/targets/kubernetes/options.js'
import {shellQuote} from '../../../../src/lib/model/config/command-line.js'

/** The usage error's message and hint, or 'accepted'. */
function verdict(work: () => unknown): string | {message: string; hint?: string} {
  try {
    work()
  } catch (error) {
    expect(error).to.be.instanceOf(UsageError)
    return {message: (error as UsageError).message, hint: (error as UsageError).suggestion}
  }
  return 'accepted'
}

const accepted = (values: string[], validate: (value: string) => string) =>
  expect(values.map((value) => verdict(() => validate(value)))).to.deep.equal(values.map(() => 'accepted'))
const rejected = (values: string[], validate: (value: string) => string) =>
  expect(values.filter((value) => verdict(() => validate(value)) === 'accepted')).to.deep.equal([])

describe('kubernetes options', () => {
  it('applies the defaults when no flag is given', () => {
    expect(parseKubernetesOptions({})).to.deep.equal({
      namespace: undefined,
      replicas: 2,
      storageSize: '10Gi',
      storageClass: undefined,
      registry: undefined,
      postgres: 'statefulset',
      out: undefined,
      backup: undefined, // no backup section without --backup-destination
    })
  })

  it('takes namespaces that are RFC 1123 labels only', () => {
    accepted(['visits', 'a', 'team-1', '0abc', 'a'.repeat(63)], validateNamespace)
    rejected(['Visits', 'my_ns', '-a', 'a-', 'a.b', '', 'a'.repeat(64), 'ns ', 'ns\n'], validateNamespace)
    expect(verdict(() => validateNamespace('My_NS'))).to.deep.equal({
      message:
        "invalid namespace 'My_NS': at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit (RFC 1123 label)",
      hint: 'try --namespace my-ns',
    })
  })

  it('takes storage classes that are RFC 1123 subdomains only', () => {
    accepted(['fast', 'gp3', 'ebs.csi.aws.com', 'local-path'], validateStorageClass)
    rejected(['Fast', 'fast_ssd', '.fast', 'fast.', 'a..b', '', 'a'.repeat(254), 'fast ssd'], validateStorageClass)
  })

  it('takes storage sizes that are quantities with a unit, of at least 1Gi', () => {
    accepted(['10Gi', '1Gi', '1.5Ti', '2G', '1024Mi', '100Gi'], validateStorageSize)
    rejected(
      ['10', '10gi', '10 Gi', '-10Gi', '1e9', '10GB', '0Gi', '512Mi', '999M', 'Gi', '10Gi '],
      validateStorageSize,
    )
    expect(verdict(() => validateStorageSize('512Mi'))).to.deep.equal({
      message: "storage size '512Mi' is too small for a database: at least 1Gi",
      hint: 'try --storage-size 10Gi',
    })
  })

  it('takes replicas from 1 to 50 (oclif parses the integer)', () => {
    expect([1, 2, 50].map(validateReplicas)).to.deep.equal([1, 2, 50])
    for (const replicas of [0, 51, -1, 1.5, Number.NaN])
      expect(verdict(() => validateReplicas(replicas))).to.not.equal('accepted')
  })

  it('takes a registry as HOST[:PORT][/PATH] whose host Docker reads as a registry', () => {
    accepted(
      [
        'registry.example.com',
        'localhost:5000',
        'localhost',
        '10.0.0.5:5000/team',
        'ghcr.io/acme/visits',
        'docker.io/acme',
      ],
      validateRegistry,
    )
    rejected(
      [
        'acme', // Docker Hub's user acme, not a registry
        'registry.example.com/',
        'https://registry.example.com',
        'registry.example.com:0',
        'registry.example.com:99999',
        'registry.example.com:5000:1',
        'registry.example.com/Team',
        'registry.example.com//team',
        '-bad.example.com',
        'registry.example.com/team/',
        '',
      ],
      validateRegistry,
    )
  })

  it('refuses an unknown PostgreSQL mode and an empty --out', () => {
    expect(verdict(() => parseKubernetesOptions({postgres: 'mysql'}))).to.deep.equal({
      message: "unknown --postgres 'mysql'",
      hint: 'use one of: statefulset, cloudnative-pg',
    })
    expect(verdict(() => parseKubernetesOptions({out: ' '}))).to.not.equal('accepted')
  })
})

describe('kubernetes names and images', () => {
  it('names objects after the project, "_" becoming "-"', () => {
    expect(kubernetesNames('my_stack', 'statefulset')).to.deep.equal({
      base: 'my-stack',
      db: 'my-stack-db',
      dbHost: 'my-stack-db',
      app: 'my-stack-app',
      secret: 'my-stack-db-password',
      claimTemplate: 'postgres-data',
      dataClaim: 'postgres-data-my-stack-db-0',
    })
    expect(kubernetesNames('demo', 'cloudnative-pg')).to.include({
      dbHost: 'demo-db-rw',
      secret: 'demo-db-credentials',
      dataClaim: 'demo-db-1',
    })
  })

  it('refuses a project that cannot name a Service, and one too long for a CloudNativePG Cluster', () => {
    expect(verdict(() => kubernetesNames('1stack', 'statefulset'))).to.deep.include({
      hint: 'render a stack whose project fits: stackctl render --dir DIR --project-name stack-1stack',
    })
    expect(verdict(() => kubernetesNames('demo_', 'statefulset'))).to.deep.include({
      hint: 'render a stack whose project fits: stackctl render --dir DIR --project-name demo',
    })
    expect(verdict(() => kubernetesNames('a'.repeat(48), 'statefulset'))).to.equal('accepted')
    expect(verdict(() => kubernetesNames('a'.repeat(48), 'cloudnative-pg'))).to.not.equal('accepted')
  })

  it('uses the registries’ own images by default and says how to build the API image', () => {
    expect(planImages(17, 'statefulset', '0.1.0', '/s/app')).to.deep.equal({
      images: {postgres: 'postgres:17', app: 'stackctl-app:0.1.0'},
      commands: ['docker build --build-arg NODE_IMAGE=node:24-slim -t stackctl-app:0.1.0 /s/app'],
    })
    expect(planImages(18, 'cloudnative-pg', '0.1.0', '/s/app').images.postgres).to.equal(
      'ghcr.io/cloudnative-pg/postgresql:18',
    )
  })

  it('with a registry, names both images there and says how to put them there', () => {
    const plan = planImages(17, 'statefulset', '0.1.0', '/my stack/app', 'localhost:5000/team')
    expect(plan.images).to.deep.equal({
      postgres: 'localhost:5000/team/postgres:17',
      app: 'localhost:5000/team/stackctl-app:0.1.0',
    })
    expect(plan.commands).to.deep.equal([
      "docker build --build-arg NODE_IMAGE=node:24-slim -t stackctl-app:0.1.0 '/my stack/app'",
      'docker tag stackctl-app:0.1.0 localhost:5000/team/stackctl-app:0.1.0',
      'docker push localhost:5000/team/stackctl-app:0.1.0',
      'docker pull postgres:17',
      'docker tag postgres:17 localhost:5000/team/postgres:17',
      'docker push localhost:5000/team/postgres:17',
    ])
    expect(inRegistry('ghcr.io/cloudnative-pg/postgresql:17', 'r.example.com')).to.equal(
      'r.example.com/cloudnative-pg/postgresql:17',
    )
    expect(inRegistry('library/postgres:17', 'r.example.com')).to.equal('r.example.com/library/postgres:17')
  })

  it('quotes a printed argument only when a shell would split or expand it', () => {
    expect(shellQuote('/home/dev/.stackctl/secrets/db_password')).to.equal('/home/dev/.stackctl/secrets/db_password')
    expect(shellQuote("/tmp/it's here")).to.equal(`'/tmp/it'\\''s here'`)
    expect(shellQuote('/tmp/$HOME')).to.equal("'/tmp/$HOME'")
  })
})
