/** The kubernetes render's result as a person reads it: what was written, then what to run, in order. */
import type {KubernetesRenderResult} from './render-kubernetes.js'

export function describeKubernetes(result: KubernetesRenderResult, registry: boolean): string[] {
  const {images, outDir} = result
  const objects = result.files.length - 1
  const headline =
    outDir === null
      ? `rendered ${objects} objects for namespace ${result.namespace}`
      : `${result.written ? 'wrote' : 'unchanged'} ${outDir} (kustomization.yaml and ${objects} objects, namespace ${result.namespace})`
  const pull = `the cluster must be able to pull ${images.postgres} and ${images.app}`
  const build = registry
    ? `build the API image and put both images in the registry:`
    : `build the API image; no registry has it: load it into the cluster's nodes (kind load docker-image ${images.app}, minikube image load ${images.app}) or render with --image-registry:`
  const data =
    result.postgres === 'cloudnative-pg'
      ? `the data lives on PersistentVolumeClaim ${result.dataClaim}, deleted with the Cluster: ${result.backup ? 'the object store keeps the backups and WAL' : 'back it up first'}`
      : `the data lives on PersistentVolumeClaim ${result.dataClaim}, kept when the StatefulSet is deleted or scaled down`
  const plugin = result.backup
    ? [
        `the Cluster needs the Barman Cloud plugin (${result.backup.plugin}) installed next to the CloudNativePG operator (1.26 or later, with cert-manager); the credentials Secret takes the keys from your environment (${result.backup.credentials.keys.join(', ')})`,
      ]
    : []
  return [
    headline,
    pull,
    build,
    ...result.imageCommands.map(indent),
    ...plugin,
    'then:',
    ...result.next.map(indent),
    data,
    `archiving: ${result.archiving.detail}`,
  ]
}

function indent(line: string): string {
  return `  ${line}`
}
