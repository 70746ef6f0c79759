/**
 * `stackctl render --target kubernetes` through the built CLI, as a user runs it: what it writes and prints,
 * --json and --stdout, a password that never leaves its file, and bad input refused before anything is
 * written (exit 2). Needs the build, not the engine: DOCKER_HOST points nowhere on purpose.
 */
import {expect} from 'chai'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {parseAllDocuments} from 'yaml'

import type {KubernetesRenderResult} from '../../src/lib/targets/kubernetes/render-kubernetes.js'
import {runCli, type CliResult} from '../helpers/cli.js'

const PASSWORD = 'k8s-test-Pa55word-0f6c1d2e9b'
const STORE_KEY_ID = 'AKIA-sentinel-7c3e'
const STORE_SECRET = 'store-Secret-sentinel-41d9a0'
const BACKUP = ['--postgres', 'cloudnative-pg', '--backup-destination', 's3://visits-backups/demo']

/** Every regular file under dir, recursively, with its content. */
function filesUnder(dir: string): Record<string, string> {
  const found: Record<string, string> = {}
  for (const entry of readdirSync(dir, {withFileTypes: true, recursive: true})) {
    if (entry.isFile())
      found[path.join(entry.parentPath, entry.name)] = readFileSync(path.join(entry.parentPath, entry.name), 'utf8')
  }
  return found
}

describe('render --target kubernetes (integration: the built CLI, no engine)', function () {
  this.timeout(60_000)
  let root: string
  let stackDir: string
  let out: string

  const render = (...args: string[]): Promise<CliResult> =>
    runCli(['render', '--target', 'kubernetes', '--dir', stackDir, ...args], {
      cwd: root,
      env: {
        DOCKER_HOST: 'unix:///nonexistent/docker.sock',
        STACKCTL_STATE_DIR: path.join(root, 'state'),
        // The store's keys as a user has them in the environment: they must never reach a file or the output.
        AWS_ACCESS_KEY_ID: STORE_KEY_ID,
        AWS_SECRET_ACCESS_KEY: STORE_SECRET,
      },
    })

  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'stackctl-render-k8s-'))
    stackDir = path.join(root, 'stack')
    out = path.join(stackDir, 'kubernetes')
    mkdirSync(path.join(stackDir, 'secrets'), {recursive: true, mode: 0o700})
    mkdirSync(path.join(stackDir, 'app'))
    const settings = {project: 'demo', pgMajor: 17, imageSource: 'registry', resolvedImageSource: 'registry'}
    writeFileSync(path.join(stackDir, 'stack.json'), JSON.stringify({stackId: '0123456789abcdef', settings}))
    writeFileSync(path.join(stackDir, 'secrets', 'db_password'), PASSWORD, {mode: 0o600})
  })
  afterEach(() => rmSync(root, {recursive: true, force: true}))

  it('writes the kustomize directory and prints the images, the secret command and what to run next', async () => {
    const result = await render()
    expect(result.exitCode, result.stderr).to.equal(0)
    expect(readdirSync(out).sort()).to.deep.equal([
      'app-deployment.yaml',
      'app-pdb.yaml',
      'app-service.yaml',
      'db-networkpolicy.yaml',
      'db-service.yaml',
      'db-statefulset.yaml',
      'kustomization.yaml',
      'stackctl-render.json',
    ])
    const lines = result.stdout.split('\n')
    expect(lines[0]).to.equal(`wrote ${out} (kustomization.yaml and 6 objects, namespace demo)`)
    expect(lines[1]).to.match(/^the cluster must be able to pull postgres:17 and stackctl-app:\d+\.\d+\.\d+$/)
    expect(lines).to.include(
      `  kubectl create secret generic demo-db-password --namespace demo --from-file=password=${stackDir}/secrets/db_password`,
    )
    expect(lines).to.include(`  kubectl apply -k ${out}`)
    expect(result.stdout).to.match(
      /docker build --build-arg NODE_IMAGE=node:24-slim -t stackctl-app:\S+ \S+\/stack\/app/,
    )
    expect(result.stderr).to.equal('')

    const again = await render()
    expect(again.exitCode).to.equal(0)
    expect(again.stdout.split('\n')[0]).to.equal(`unchanged ${out} (kustomization.yaml and 6 objects, namespace demo)`)
  })

  it('prints the typed result with --json, for cloudnative-pg with a registry and the options given', async () => {
    const result = await render(
      '--json',
      '--postgres',
      'cloudnative-pg',
      '--image-registry',
      'registry.example.com:5000/visits',
      '--namespace',
      'visits',
      '--replicas',
      '3',
      '--storage-size',
      '20Gi',
      '--storage-class',
      'fast',
      '--out',
      'k8s',
    )
    expect(result.exitCode, result.stderr).to.equal(0)
    const parsed = JSON.parse(result.stdout) as KubernetesRenderResult
    const version = parsed.images.app.split(':').pop()
    expect(parsed).to.deep.include({
      target: 'kubernetes',
      outDir: path.join(root, 'k8s'),
      written: true,
      namespace: 'visits',
      postgres: 'cloudnative-pg',
      files: [
        'kustomization.yaml',
        'cnpg-cluster.yaml',
        'cnpg-networkpolicy.yaml',
        'app-deployment.yaml',
        'app-service.yaml',
        'app-pdb.yaml',
      ],
      images: {
        postgres: 'registry.example.com:5000/visits/cloudnative-pg/postgresql:17',
        app: `registry.example.com:5000/visits/stackctl-app:${version}`,
      },
      secret: {
        name: 'demo-db-credentials',
        command: `kubectl create secret generic demo-db-credentials --namespace visits --type=kubernetes.io/basic-auth --from-literal=username=app --from-file=password=${stackDir}/secrets/db_password`,
      },
      dataClaim: 'demo-db-1',
    })
    expect(parsed.imageCommands).to.include(`docker push registry.example.com:5000/visits/stackctl-app:${version}`)
    expect(parsed.manifests).to.equal(null) // written to files, not printed
    const cluster = readFileSync(path.join(root, 'k8s', 'cnpg-cluster.yaml'), 'utf8')
    expect(cluster).to.include('storageClass: fast').and.include('size: 20Gi')
  })

  it('prints the objects as one YAML stream with --stdout, the instructions on stderr, and writes nothing', async () => {
    const result = await render('--stdout', '--pg-major', '18')
    expect(result.exitCode, result.stderr).to.equal(0)
    const documents = parseAllDocuments(result.stdout).map((document) => document.toJS())
    expect(documents.map((document) => document.kind)).to.deep.equal([
      'StatefulSet',
      'Service',
      'NetworkPolicy',
      'Deployment',
      'Service',
      'PodDisruptionBudget',
    ])
    expect(documents.every((document) => document.metadata.namespace === 'demo')).to.equal(true)
    expect(documents[0].spec.template.spec.containers[0].image).to.equal('postgres:18')
    expect(result.stderr).to.include('kubectl create secret generic demo-db-password')
    expect(existsSync(out)).to.equal(false)
  })

  it('never puts the password in a file it writes or in its output', async () => {
    const runs = [
      await render(),
      await render('--postgres', 'cloudnative-pg', '--out', path.join(root, 'cnpg')),
      await render('--json', '--out', path.join(root, 'json')),
      await render('--stdout'),
      await render('--stdout', '--json', '--postgres', 'cloudnative-pg'),
    ]
    expect(runs.map((run) => run.exitCode)).to.deep.equal([0, 0, 0, 0, 0])
    const written = {...filesUnder(out), ...filesUnder(path.join(root, 'cnpg')), ...filesUnder(path.join(root, 'json'))}
    expect(Object.keys(written)).to.have.length(8 + 7 + 8) // objects, kustomization.yaml and marker, three times
    expect(Object.keys(written).filter((file) => written[file].includes(PASSWORD))).to.deep.equal([])
    expect(runs.filter((run) => `${run.stdout}${run.stderr}`.includes(PASSWORD))).to.deep.equal([])
    expect(runs[3].stdout).to.include('kind: StatefulSet') // the scan did see the stream
    expect(readFileSync(path.join(stackDir, 'secrets', 'db_password'), 'utf8')).to.equal(PASSWORD) // the scan can match
  })

  it('renders the backup section with --backup-destination: the plugin, the ObjectStore, the ScheduledBackup, the keys Secret', async () => {
    const result = await render(...BACKUP, '--backup-endpoint', 'https://minio.example:9000', '--json')
    expect(result.exitCode, result.stderr).to.equal(0)
    const parsed = JSON.parse(result.stdout) as KubernetesRenderResult
    expect(parsed.files).to.deep.equal([
      'kustomization.yaml',
      'cnpg-cluster.yaml',
      'cnpg-networkpolicy.yaml',
      'cnpg-objectstore.yaml',
      'cnpg-scheduledbackup.yaml',
      'app-deployment.yaml',
      'app-service.yaml',
      'app-pdb.yaml',
    ])
    const command =
      'kubectl create secret generic demo-db-backup-credentials --namespace demo --from-literal=ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" --from-literal=ACCESS_SECRET_KEY="$AWS_SECRET_ACCESS_KEY"'
    expect(parsed.backup).to.deep.equal({
      destination: 's3://visits-backups/demo',
      endpoint: 'https://minio.example:9000',
      retention: '30d',
      schedule: '0 0 3 * * *',
      plugin: 'barman-cloud.cloudnative-pg.io',
      objectStore: 'demo-db-backups',
      scheduledBackup: 'demo-db-backup',
      credentials: {name: 'demo-db-backup-credentials', keys: ['ACCESS_KEY_ID', 'ACCESS_SECRET_KEY'], command},
    })
    expect(parsed.archiving.continuous).to.equal(true)
    expect(parsed.next.slice(1, 3)).to.deep.equal([parsed.secret.command, command])
    const human = await render(...BACKUP)
    expect(human.stdout).to.include(`  ${command}\n`)
    expect(human.stdout).to.include('the Cluster needs the Barman Cloud plugin (barman-cloud.cloudnative-pg.io)')
    expect(human.stdout).to.include(
      "archiving: the Cluster archives its WAL to s3://visits-backups/demo through the Barman Cloud plugin, with a base backup at once and on '0 0 3 * * *', kept for a recovery window of 30d",
    )
  })

  it('says that a Cluster without --backup-destination, and the StatefulSet, have no continuous archiving', async () => {
    const cnpg = await render('--postgres', 'cloudnative-pg')
    expect(cnpg.exitCode, cnpg.stderr).to.equal(0)
    expect(cnpg.stdout).to.include(
      'archiving: no continuous archiving: the Cluster archives no WAL and takes no backup (no point-in-time restore; a lost claim loses the data); render with --backup-destination',
    )
    expect(readFileSync(path.join(out, 'cnpg-cluster.yaml'), 'utf8')).to.include('# No continuous archiving')
    // Switching the backup on and off again: the backup objects come and go with the flag.
    expect((await render(...BACKUP)).exitCode).to.equal(0)
    expect(readdirSync(out)).to.include('cnpg-objectstore.yaml').and.include('cnpg-scheduledbackup.yaml')
    expect((await render('--postgres', 'cloudnative-pg')).exitCode).to.equal(0)
    expect(readdirSync(out)).to.not.include('cnpg-objectstore.yaml')
    const statefulset = await render('--json', '--out', path.join(root, 'sts'))
    expect((JSON.parse(statefulset.stdout) as KubernetesRenderResult).archiving).to.deep.equal({
      continuous: false,
      detail:
        'no continuous archiving: the StatefulSet archives no WAL and takes no backup (no point-in-time restore; a lost claim loses the data); --postgres cloudnative-pg with --backup-destination archives it',
    })
  })

  it('never puts the backup store’s keys in a file it writes or in its output (only their variables’ names)', async () => {
    const runs = [
      await render(...BACKUP),
      await render(...BACKUP, '--json', '--out', path.join(root, 'json')),
      await render(...BACKUP, '--stdout'),
    ]
    expect(runs.map((run) => run.exitCode)).to.deep.equal([0, 0, 0])
    const written = {...filesUnder(out), ...filesUnder(path.join(root, 'json'))}
    expect(Object.keys(written)).to.have.length(2 * 9) // 7 objects, kustomization.yaml and marker, twice
    const leaks = (text: string) => [STORE_KEY_ID, STORE_SECRET, PASSWORD].filter((value) => text.includes(value))
    expect(Object.keys(written).filter((file) => leaks(written[file]).length > 0)).to.deep.equal([])
    expect(runs.flatMap((run) => leaks(`${run.stdout}${run.stderr}`))).to.deep.equal([])
    expect(runs[2].stdout).to.include('kind: ObjectStore').and.include('name: demo-db-backup-credentials')
    // Control: the scan finds a key where there is one.
    expect(leaks(`${written[path.join(out, 'cnpg-objectstore.yaml')]}${STORE_SECRET}`)).to.deep.equal([STORE_SECRET])
  })

  it('a bad backup flag on a directory it wrote before changes nothing there (exit 2)', async () => {
    expect((await render(...BACKUP)).exitCode).to.equal(0)
    const before = filesUnder(out)
    for (const bad of [
      ['--backup-retention', '30x'],
      ['--backup-schedule', '0 3 * * *'],
      ['--backup-destination', 'ftp://visits/demo'],
    ]) {
      const result = await render(...BACKUP, ...bad)
      expect(result.exitCode, bad.join(' ')).to.equal(2)
      expect(filesUnder(out)).to.deep.equal(before)
    }
    // Control: a good change does rewrite the directory.
    expect((await render(...BACKUP, '--backup-retention', '7d')).exitCode).to.equal(0)
    expect(filesUnder(out)).to.not.deep.equal(before)
  })

  for (const [args, message] of [
    [[...BACKUP, '--backup-retention', '30x'], "invalid backup retention '30x'"],
    [[...BACKUP, '--backup-schedule', '0 3 * * *'], "invalid backup schedule '0 3 * * *'"],
    [
      ['--postgres', 'cloudnative-pg', '--backup-destination', 'ftp://visits/demo'],
      "invalid backup destination 'ftp://",
    ],
    [['--postgres', 'cloudnative-pg', '--backup-retention', '7d'], '--backup-retention needs --backup-destination'],
    [['--backup-destination', 's3://visits-backups/demo'], '--backup-destination applies to --postgres cloudnative-pg'],
    [['--replicas', '0'], '--replicas: Expected an integer greater than or equal to 1 but received: 0'],
    [['--replicas', '51'], '--replicas: Expected an integer less than or equal to 50 but received: 51'],
    [['--replicas', 'two'], '--replicas: Expected an integer but received: two'],
    [['--namespace', 'Visits'], "invalid namespace 'Visits'"],
    [['--storage-size', '10'], "invalid storage size '10'"],
    [['--storage-size', '100Mi'], "storage size '100Mi' is too small"],
    [['--storage-class', 'fast_ssd'], "invalid storage class 'fast_ssd'"],
    [['--image-registry', 'acme'], "invalid image registry 'acme'"],
    [['--postgres', 'mysql'], 'Expected --postgres=mysql to be one of: statefulset, cloudnative-pg'],
    [['--stdout', '--out', 'x'], '--out and --stdout exclude each other'],
    [['--adopt'], '--adopt only applies to --target compose'],
    [['--project-name', 'other'], "is the stack directory of project 'demo', not 'other'"],
  ] as const) {
    it(`refuses ${args.join(' ')} in one line with a hint, exit 2, writing nothing`, async () => {
      const result = await render(...args)
      expect(result.exitCode).to.equal(2)
      expect(result.stderr).to.match(/^Error: [^\n]+\nHint: [^\n]+\n$/)
      expect(result.stderr.split('\n')[0]).to.include(message)
      expect(result.stdout).to.equal('')
      expect(existsSync(out)).to.equal(false)
    })
  }

  it('refuses kubernetes options with --target compose before touching the engine (exit 2)', async () => {
    const result = await runCli(['render', '--dir', stackDir, '--replicas', '3', '--namespace', 'visits'], {
      env: {DOCKER_HOST: 'unix:///nonexistent/docker.sock'},
    })
    expect(result.exitCode).to.equal(2)
    expect(result.stderr).to.equal(
      'Error: --namespace, --replicas only apply to --target kubernetes\nHint: add --target kubernetes\n',
    )
  })

  it('needs a rendered stack with its password file, and never follows a link to it', async () => {
    rmSync(path.join(stackDir, 'secrets', 'db_password'))
    const missing = await render()
    expect(missing.exitCode).to.equal(2)
    expect(missing.stderr).to.include(`the password file ${stackDir}/secrets/db_password is missing`)
    expect(missing.stderr).to.include(`Hint: run stackctl render --dir ${stackDir}`)

    writeFileSync(path.join(root, 'elsewhere'), PASSWORD)
    symlinkSync(path.join(root, 'elsewhere'), path.join(stackDir, 'secrets', 'db_password'))
    const linked = await render()
    expect(linked.exitCode).to.equal(2)
    expect(linked.stderr).to.include('it is a symbolic link')

    rmSync(path.join(stackDir, 'stack.json'))
    const unrendered = await render()
    expect(unrendered.exitCode).to.equal(2)
    expect(unrendered.stderr).to.include(`${stackDir} holds no rendered stack`)
    expect(existsSync(out)).to.equal(false)
  })

  it('refuses an --out that holds other things, and a hand-edited manifest unless --force', async () => {
    const foreign = path.join(root, 'mine')
    mkdirSync(foreign)
    writeFileSync(path.join(foreign, 'notes.txt'), 'mine')
    const refused = await render('--out', foreign)
    expect(refused.exitCode).to.equal(2)
    expect(refused.stderr).to.include(`${foreign} is not empty and was not written by stackctl (it holds notes.txt)`)
    expect(readdirSync(foreign)).to.deep.equal(['notes.txt'])

    expect((await render()).exitCode).to.equal(0)
    const deployment = path.join(out, 'app-deployment.yaml')
    writeFileSync(deployment, readFileSync(deployment, 'utf8').replace('replicas: 2', 'replicas: 9'))
    const edited = await render('--replicas', '4')
    expect(edited.exitCode).to.equal(2)
    expect(edited.stderr).to.include(`${deployment} was edited by hand`)
    expect(readFileSync(deployment, 'utf8')).to.include('replicas: 9')
    const forced = await render('--replicas', '4', '--force')
    expect(forced.exitCode, forced.stderr).to.equal(0)
    expect(readFileSync(deployment, 'utf8')).to.include('replicas: 4')
  })
})
