/**
 * kubectl builds what stackctl writes, offline: `kubectl kustomize DIR` on each rendered directory exactly as
 * written (marker file included), and the printed `kubectl create secret` commands, run with --dry-run=client,
 * make the Secrets the manifests reference (the backup store's keys from the environment, as printed). Needs
 * kubectl, not a cluster; skipped, saying so, without it.
 */
import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {parseAllDocuments} from 'yaml'

import {checkOutputDir, writeOutputDir} from '../../../../src/lib/targets/kubernetes/output-dir.js'
import type {PostgresMode} from '../../../../src/lib/targets/kubernetes/options.js'
import {planKubernetes} from '../../../../src/lib/targets/kubernetes/render-kubernetes.js'
import {unknownFieldErrors, validateObject, type KubernetesObject} from './models.js'
import {BACKUP_PROVIDERS, find, objects, render, SCENARIOS} from './scenarios.js'

function kubectl(args: string[]) {
  return spawnSync('kubectl', args, {encoding: 'utf8', timeout: 60_000})
}

const version = kubectl(['version', '--client'])
const available = version.status === 0
const suite = available ? describe : describe.skip
const reason = available
  ? `kubectl ${/v\d+\.\d+\.\d+[^\s",]*/.exec(version.stdout)?.[0] ?? 'of unknown version'}`
  : 'SKIPPED: no kubectl on PATH (Debian: apt-get install kubernetes-client; .ci/run installs it)'

suite(`kubectl builds the rendered manifests (integration: kubectl, no cluster; ${reason})`, function () {
  this.timeout(120_000)
  let root: string
  beforeEach(() => (root = mkdtempSync(path.join(tmpdir(), 'stackctl-kustomize-'))))
  afterEach(() => rmSync(root, {recursive: true, force: true}))

  for (const [name, options] of Object.entries({...SCENARIOS, ...BACKUP_PROVIDERS})) {
    it(`kubectl kustomize builds ${name} as written, every object valid and in its namespace`, async () => {
      const files = render({...options, namespace: 'visits'})
      const dir = path.join(root, name)
      await writeOutputDir(await checkOutputDir(dir, files, false))
      const built = kubectl(['kustomize', dir])
      expect(built.status, built.stderr).to.equal(0)
      const documents = parseAllDocuments(built.stdout).map((document) => document.toJS() as KubernetesObject)
      const id = (object: KubernetesObject) => `${object.kind}/${object.metadata.name}`
      expect(documents.map(id).sort()).to.deep.equal(objects(files).map(id).sort())
      expect(documents.map((object) => object.metadata.namespace)).to.deep.equal(documents.map(() => 'visits'))
      for (const object of documents) validateObject(object)
      expect(unknownFieldErrors(documents.filter((object) => object.apiVersion.includes('cnpg.io')))).to.deep.equal([])
    })
  }

  it('fails to build a directory that lacks a file its kustomization lists (the check can fail)', async () => {
    const dir = path.join(root, 'broken')
    await writeOutputDir(await checkOutputDir(dir, render(), false))
    rmSync(path.join(dir, 'app-pdb.yaml'))
    const built = kubectl(['kustomize', dir])
    expect(built.status).to.not.equal(0)
    expect(built.stderr).to.include('app-pdb.yaml')
  })

  /** The Secret the printed command makes, by kubectl --dry-run=client, for a stack with a known password. */
  async function printedSecret(postgres: PostgresMode) {
    return JSON.parse(run((await plan(postgres)).secret.command))
  }

  /** kubectl as printed, with --dry-run=client: the command's words as they are, no shell. */
  function run(command: string) {
    const [program, ...args] = command.split(' ')
    expect(program).to.equal('kubectl')
    const created = kubectl([...args, '--dry-run=client', '-o', 'json'])
    expect(created.status, created.stderr).to.equal(0)
    return created.stdout
  }

  async function plan(postgres: PostgresMode, kubernetes: Record<string, string> = {}) {
    const stackDir = path.join(root, 'stack')
    mkdirSync(path.join(stackDir, 'secrets'), {recursive: true})
    writeFileSync(path.join(stackDir, 'stack.json'), '{"stackId":"0123456789abcdef","settings":{"project":"demo"}}')
    writeFileSync(path.join(stackDir, 'secrets', 'db_password'), 'not-a-real-password')
    const {result} = await planKubernetes({
      config: {dir: stackDir},
      kubernetes: {postgres, namespace: 'visits', ...kubernetes},
      version: '1.2.3',
      stdout: true,
      force: false,
      env: {},
      cwd: root,
    })
    return result
  }

  for (const [postgres, type] of [
    ['statefulset', 'Opaque'],
    ['cloudnative-pg', 'kubernetes.io/basic-auth'],
  ] as const) {
    it(`the printed secret command makes the ${type} Secret the ${postgres} manifests mount`, async () => {
      const secret = await printedSecret(postgres)
      expect(secret.type ?? 'Opaque').to.equal(type) // a generic Secret's type defaults to Opaque
      expect(secret.metadata.namespace).to.equal('visits')
      expect(Buffer.from(secret.data.password, 'base64').toString()).to.equal('not-a-real-password')
      const volumes = find(render({postgres}), 'Deployment').spec.template.spec.volumes
      const mounted = volumes.find((volume: {name: string}) => volume.name === 'db-password').secret
      expect(mounted.secretName).to.equal(secret.metadata.name)
      expect(Object.keys(secret.data)).to.include(mounted.items[0].key)
    })
  }

  it('the printed CloudNativePG secret names the owner the Cluster bootstraps, and is the one it reads', async () => {
    const secret = await printedSecret('cloudnative-pg')
    const initdb = find(render({postgres: 'cloudnative-pg'}), 'Cluster').spec.bootstrap.initdb
    expect(initdb.secret.name).to.equal(secret.metadata.name)
    expect(Buffer.from(secret.data.username, 'base64').toString()).to.equal(initdb.owner)
  })

  /** The credentials Secret as a shell makes it from the printed command, the variables set to sentinels. */
  function backupSecret(command: string, env: Record<string, string>) {
    const created = spawnSync('sh', ['-c', `${command} --dry-run=client -o json`], {
      encoding: 'utf8',
      env: {...process.env, ...env},
      timeout: 60_000,
    })
    expect(created.status, created.stderr).to.equal(0)
    return JSON.parse(created.stdout) as {metadata: {name: string; namespace: string}; data: Record<string, string>}
  }

  const SENTINELS: Record<string, Record<string, string>> = {
    's3://visits-backups/demo': {AWS_ACCESS_KEY_ID: 'AKIA-sentinel-id', AWS_SECRET_ACCESS_KEY: 'sentinel-secret-key'},
    'https://visitsbackups.blob.core.windows.net/visits/demo': {
      AZURE_STORAGE_ACCOUNT: 'sentinelaccount',
      AZURE_STORAGE_KEY: 'sentinel-azure-key',
    },
  }

  for (const [destination, env] of Object.entries(SENTINELS)) {
    it(`the printed backup secret command for ${destination.startsWith('s3') ? 'S3' : 'Azure'} makes the Secret the ObjectStore reads, its keys from the environment`, async () => {
      const result = await plan('cloudnative-pg', {'backup-destination': destination})
      const secret = backupSecret(result.backup!.credentials.command, env)
      expect(secret.metadata).to.deep.include({name: result.backup!.credentials.name, namespace: 'visits'})
      const values = Object.values(secret.data).map((value) => Buffer.from(value, 'base64').toString())
      expect(values.sort()).to.deep.equal(Object.values(env).sort())
      // The ObjectStore references exactly those keys of that Secret.
      const store = parseAllDocuments(result.manifests!)
        .map((document) => document.toJS())
        .find((object) => object.kind === 'ObjectStore')
      const block = Object.entries(store.spec.configuration).find(([key]) => key.endsWith('Credentials'))![1]
      const references = Object.values(block as Record<string, {name: string; key: string}>)
      expect(references.map((ref) => ref.name)).to.deep.equal(references.map(() => secret.metadata.name))
      expect(references.map((ref) => ref.key).sort()).to.deep.equal(Object.keys(secret.data).sort())
      // No value reaches the manifests or the result (the command names the variables, never their values).
      const everything = JSON.stringify(result)
      expect(Object.values(env).filter((value) => everything.includes(value))).to.deep.equal([])
    })
  }

  it('the gs credentials Secret is made from the key file GOOGLE_APPLICATION_CREDENTIALS names', async () => {
    const result = await plan('cloudnative-pg', {'backup-destination': 'gs://visits-backups/demo'})
    const keyFile = path.join(root, 'gcs-key.json')
    writeFileSync(keyFile, '{"type":"service_account","private_key":"sentinel-gcs-key"}')
    const secret = backupSecret(result.backup!.credentials.command, {GOOGLE_APPLICATION_CREDENTIALS: keyFile})
    expect(Object.keys(secret.data)).to.deep.equal(['gcsCredentials'])
    expect(Buffer.from(secret.data.gcsCredentials, 'base64').toString()).to.include('sentinel-gcs-key')
    expect(JSON.stringify(result)).to.not.include('sentinel-gcs-key')
  })
})
