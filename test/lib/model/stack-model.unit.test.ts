import {expect} from 'chai'
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {parse} from 'yaml'

import {localImages} from '../../../src/lib/engine/images/stack-images.js'
import {kubernetesNames} from '../../../src/lib/targets/kubernetes/names.js'
import {toCompose} from '../../../src/lib/model/compose-writer.js'
import {toKubernetes} from '../../../src/lib/model/kubernetes-writer.js'
import {stackModel, type ModelConfig, type ModelInput, type StackModel} from '../../../src/lib/model/stack-model.js'
import {toSwarmStack} from '../../../src/lib/model/swarm-writer.js'
import {templates as kubernetesTemplates} from '../targets/kubernetes/scenarios.js'

const template = (name: string) =>
  readFileSync(fileURLToPath(new URL(`../../../templates/compose/${name}`, import.meta.url)), 'utf8')
const composeTemplate = template('docker-compose.yml')
const swarmTemplates = {compose: composeTemplate, swarm: template('swarm.yml')}

const CONFIG: ModelConfig = {project: 'demo', host: '127.0.0.1', port: 5000, pgMajor: 17}
const IDENTITY = {stackId: '0123456789abcdef', dir: '/home/dev/demo/.stackctl'}

function composeInput(overrides: Partial<ModelInput> = {}): ModelInput {
  return {
    images: localImages(17),
    appImage: 'stackctl-app:0123456789ab',
    appUser: '1000:1000',
    identity: IDENTITY,
    ...overrides,
  }
}

const SWARM = {
  endpointMode: 'vip',
  portMode: 'ingress',
  dbNodeLabel: 'io.stackctl.db.demo',
  secretName: 'demo_db_password_v2',
} as const

function kubernetesInput(replicas = 2): ModelInput {
  const names = kubernetesNames('demo', 'statefulset')
  return {
    images: {postgres: 'postgres:17'},
    appImage: 'stackctl-app:1.2.3',
    replicas,
    kubernetes: {namespace: 'demo', postgres: 'statefulset', names, storage: {size: '10Gi'}},
  }
}

/** The three documents a model is written as, each parsed. */
function written(compose: StackModel, swarm: StackModel, kubernetes: StackModel) {
  const k8s = toKubernetes(kubernetes, kubernetesTemplates)
  const object = (name: string) => parse(k8s.find((file) => file.name === name)!.text)
  return {
    compose: parse(toCompose(compose, composeTemplate)),
    swarm: parse(toSwarmStack(swarm, swarmTemplates)),
    db: object('db-statefulset.yaml'),
    app: object('app-deployment.yaml'),
  }
}

describe('stack model', () => {
  describe('ports', () => {
    it('publishes the API on the configured host and port, the db on loopback only with --db-port', () => {
      const model = stackModel({...CONFIG, host: '0.0.0.0', port: 6001, dbPort: 15432}, composeInput())
      expect(model.services.app.ports).to.deep.equal([
        {target: 5000, published: 6001, hostIp: '0.0.0.0', protocol: 'tcp'},
      ])
      expect(model.services.db.ports).to.deep.equal([
        {target: 5432, published: 15432, hostIp: '127.0.0.1', protocol: 'tcp'},
      ])
    })

    it('publishes no db port without --db-port, and none on a swarm (no loopback-only publishing there)', () => {
      expect(stackModel(CONFIG, composeInput()).services.db.ports).to.deep.equal([])
      const swarm = stackModel({...CONFIG, dbPort: 15432}, composeInput({swarm: SWARM, replicas: 2}))
      expect(swarm.services.db.ports).to.deep.equal([])
    })

    it('gives Kubernetes a container port and no host port', () => {
      const model = stackModel({project: 'demo', pgMajor: 17}, kubernetesInput())
      expect(model.services.app.ports).to.deep.equal([
        {target: 5000, published: undefined, hostIp: undefined, protocol: 'tcp'},
      ])
    })
  })

  describe('replicas and placement', () => {
    it('runs one app under Compose, the requested replicas on a swarm and on Kubernetes', () => {
      expect(stackModel(CONFIG, composeInput()).services.app.replicas).to.equal(undefined)
      const swarm = stackModel(CONFIG, composeInput({swarm: SWARM, replicas: 4}))
      expect(swarm.services.app.replicas).to.equal(4)
      expect(swarm.services.db.placement).to.deep.equal(['node.labels.io.stackctl.db.demo == true'])
      const k8s = stackModel({project: 'demo', pgMajor: 17}, kubernetesInput(3))
      const out = written(stackModel(CONFIG, composeInput()), swarm, k8s)
      expect(out.swarm.services.app.deploy.replicas).to.equal(4)
      expect(out.swarm.services.db.deploy.placement.constraints).to.deep.equal([
        'node.labels.io.stackctl.db.demo == true',
      ])
      expect(out.app.spec.replicas).to.equal(3)
      expect(out.compose.services.app).not.to.have.property('deploy')
    })
  })

  describe('limits', () => {
    it('limits the db to 1 GiB and 512 processes, the API to 256 MiB and 128, each writer in its own spelling', () => {
      const model = stackModel(CONFIG, composeInput())
      expect(model.services.db.limits).to.deep.equal({memoryMiB: 1024, pids: 512})
      expect(model.services.app.limits).to.deep.equal({memoryMiB: 256, pids: 128})
      const out = written(
        model,
        stackModel(CONFIG, composeInput({swarm: SWARM})),
        stackModel(CONFIG, kubernetesInput()),
      )
      expect([out.compose.services.db.mem_limit, out.compose.services.app.mem_limit]).to.deep.equal(['1g', '256m'])
      expect([out.compose.services.db.pids_limit, out.compose.services.app.pids_limit]).to.deep.equal([512, 128])
      const swarmLimits = ['db', 'app'].map((name) => out.swarm.services[name].deploy.resources.limits.memory)
      expect(swarmLimits).to.deep.equal(['1G', '256M'])
      const podLimit = (object: {
        spec: {template: {spec: {containers: Array<{resources: {limits: {memory: string}}}>}}}
      }) => object.spec.template.spec.containers[0].resources.limits.memory
      expect([podLimit(out.db), podLimit(out.app)]).to.deep.equal(['1Gi', '256Mi'])
    })

    it('writes the model’s limits, not the templates’ (control: a changed model changes all three outputs)', () => {
      const halve = (model: StackModel): StackModel => ({
        ...model,
        services: {...model.services, db: {...model.services.db, limits: {memoryMiB: 512, pids: 64}}},
      })
      const out = written(
        halve(stackModel(CONFIG, composeInput())),
        halve(stackModel(CONFIG, composeInput({swarm: SWARM}))),
        halve(stackModel(CONFIG, kubernetesInput())),
      )
      expect(out.compose.services.db.mem_limit).to.equal('512m')
      expect(out.compose.services.db.pids_limit).to.equal(64)
      expect(out.swarm.services.db.deploy.resources.limits.memory).to.equal('512M')
      expect(out.db.spec.template.spec.containers[0].resources.limits.memory).to.equal('512Mi')
    })
  })

  describe('labels and the volume', () => {
    it('labels services with the stack id, project and directory; the volume and network only with what never changes', () => {
      const model = stackModel(CONFIG, composeInput())
      const owner = {'io.stackctl.stack-id': IDENTITY.stackId, 'io.stackctl.project': 'demo'}
      expect(model.services.db.labels).to.deep.equal({...owner, 'io.stackctl.dir': IDENTITY.dir})
      expect(model.services.app.labels).to.deep.equal({
        'io.stackctl.mode': 'normal',
        ...owner,
        'io.stackctl.dir': IDENTITY.dir,
      })
      expect(model.volume.labels).to.deep.equal(owner)
      expect(model.ownerLabels).to.deep.equal(owner)
      const swarm = parse(toSwarmStack(stackModel(CONFIG, composeInput({swarm: SWARM})), swarmTemplates))
      expect(swarm.services.app.deploy.labels).to.deep.equal(owner)
    })

    it('names the volume after the project, or the one `db upgrade` made; never an external volume', () => {
      expect(stackModel(CONFIG, composeInput()).volume).to.include({name: 'demo_postgres_data', external: false})
      const upgraded = stackModel({...CONFIG, volume: 'demo_postgres_data_pg17'}, composeInput())
      expect(upgraded.volume.name).to.equal('demo_postgres_data_pg17')
      expect(parse(toCompose(upgraded, composeTemplate)).volumes.postgres_data.name).to.equal('demo_postgres_data_pg17')
      expect(stackModel({...CONFIG, pgMajor: 18}, composeInput()).volume.mountPath).to.equal('/var/lib/postgresql')
    })
  })

  describe('dev mode', () => {
    it('runs the base image over read-only bind mounts of this machine’s directories, with nothing to build', () => {
      const dev = {
        overlayText: template('app-dev.yml'),
        sourceDir: '/src',
        toolchainDir: '/tools',
        runnerDir: '/runner',
      }
      const app = stackModel(CONFIG, composeInput({dev})).services.app
      expect(app.image).to.equal(localImages(17).node)
      expect(app.buildFrom).to.equal(undefined)
      expect(app.mounts.map((mount) => [mount.source, mount.readOnly])).to.deep.equal([
        ['/src', true],
        ['/tools', true],
        ['/runner', true],
      ])
      expect(app.labels['io.stackctl.mode']).to.equal('dev')
      expect(app.environment.STACKCTL_DEV_SOURCE).to.equal('/src/api')
    })

    it('refuses a dev template that is not YAML', () => {
      const dev = {overlayText: 'command: [unclosed', sourceDir: '/s', toolchainDir: '/t', runnerDir: '/r'}
      expect(() => stackModel(CONFIG, composeInput({dev}))).to.throw(/dev template is not valid YAML/)
    })
  })

  describe('the secret', () => {
    it('is a reference: a name, the file Compose reads, the path services read it at', () => {
      const model = stackModel(CONFIG, composeInput({swarm: SWARM}))
      expect(model.secret).to.deep.equal({
        key: 'db_password',
        file: './secrets/db_password',
        mountPath: '/run/secrets/db_password',
        swarmName: 'demo_db_password_v2',
      })
      for (const service of [model.services.db, model.services.app]) {
        expect(service.environment.POSTGRES_PASSWORD_FILE).to.equal('/run/secrets/db_password')
        expect(service.environment).not.to.have.property('POSTGRES_PASSWORD')
      }
    })

    const PLANTED = 'planted-Secret-9f8e7d'
    /** The three writers' documents for a config (Kubernetes: its files as one text). */
    function outputs(config: ModelConfig, input: Partial<ModelInput> = {}): Record<string, string> {
      const k8sInput = kubernetesInput()
      const k8s = toKubernetes(
        stackModel(config, {...k8sInput, ...input, kubernetes: k8sInput.kubernetes}),
        kubernetesTemplates,
      )
      return {
        compose: toCompose(stackModel(config, composeInput(input)), composeTemplate),
        swarm: toSwarmStack(stackModel(config, composeInput({...input, swarm: SWARM})), swarmTemplates),
        kubernetes: k8s.map((file) => file.text).join('---\n'),
      }
    }

    it('never reaches any writer’s output, even when planted in the configuration', () => {
      // Where a password could be slipped in: the config object, under the names a password usually has.
      const config = {...CONFIG, password: PLANTED, POSTGRES_PASSWORD: PLANTED, secret: PLANTED} as ModelConfig
      for (const [writer, text] of Object.entries(outputs(config))) expect(text, writer).not.to.contain(PLANTED)
    })

    it('control: the same search finds the planted value in each output when a rendered field carries it', () => {
      const found = Object.entries(outputs(CONFIG, {appImage: `stackctl-app:${PLANTED}`}))
      expect(found.map(([writer]) => writer)).to.deep.equal(['compose', 'swarm', 'kubernetes'])
      for (const [writer, text] of found) expect(text, writer).to.contain(PLANTED)
    })
  })
})
