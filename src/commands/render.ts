import {Flags} from '@oclif/core'

import {StackctlCommand} from '../lib/cli/base-command.js'
import {adoptFlag, configFlags} from '../lib/cli/flags.js'
import {kubernetesFlags, targetFlag} from '../lib/targets/kubernetes/flags.js'
import {rendererFromFlags} from '../lib/targets/select.js'
import type {RenderReport} from '../lib/targets/target.js'

export type {RenderReport, RenderResult} from '../lib/targets/target.js'

export default class Render extends StackctlCommand {
  static override summary =
    'Write the stack files (docker-compose.yml, build context, password) without starting anything, or Kubernetes manifests'
  static override description = `With --target kubernetes, writes a kustomize directory (kustomization.yaml and one file per object) for the stack of --dir: PostgreSQL in a StatefulSet (or a CloudNativePG Cluster with --postgres cloudnative-pg) and the API in a Deployment. No Docker engine is needed. The password never goes into the manifests: they reference a Secret, and the command prints the kubectl line that creates it from the stack's secrets/db_password. With --postgres cloudnative-pg and --backup-destination, the Cluster archives its WAL and takes scheduled base backups through the Barman Cloud plugin (an ObjectStore and a ScheduledBackup); the store's keys go into a Secret that only the manifests name. Without it, the output says that the database has no continuous archiving.`
  static override examples = [
    '<%= config.bin %> render',
    '<%= config.bin %> render --stdout --port 8080',
    '<%= config.bin %> render --target kubernetes --namespace visits --replicas 3 --storage-class fast',
    '<%= config.bin %> render --target kubernetes --postgres cloudnative-pg --image-registry registry.example.com:5000',
    '<%= config.bin %> render --target kubernetes --postgres cloudnative-pg --backup-destination s3://backups/visits --backup-retention 14d',
    '<%= config.bin %> render --target kubernetes --stdout | kubectl apply -f -',
    '<%= config.bin %> render --target swarm --replicas 3',
  ]
  static override enableJsonFlag = true
  static override flags = {
    ...configFlags,
    ...adoptFlag,
    ...targetFlag,
    stdout: Flags.boolean({
      summary: 'Print the rendered docker-compose.yml (or the manifests) instead of writing files',
    }),
    force: Flags.boolean({summary: 'Overwrite a hand-edited docker-compose.yml (or manifest)'}),
    ...kubernetesFlags,
  }

  async run(): Promise<RenderReport> {
    const {flags} = await this.parse(Render)
    const renderer = rendererFromFlags(flags, this.config.version, this.engines)
    return this.report(
      await renderer.render({stdout: flags.stdout, force: flags.force, replicas: flags.replicas}, this.targetIo({})),
    )
  }
}
