/**
 * The images a cluster pulls. By default the registries' own: the official postgres image (or CloudNativePG's
 * operand image) and the API image, which no registry has until it is pushed. --image-registry puts both
 * behind one registry the cluster can reach, and says how to get them there. Pure.
 */
import {REGISTRY_NODE_IMAGE} from '../../engine/images/stack-images.js'
import type {PostgresMode} from './options.js'
import {shellQuote} from '../../model/config/command-line.js'

export const APP_IMAGE_REPOSITORY = 'stackctl-app'
/** CloudNativePG runs its own operand images (the official image lacks what its instance manager expects). */
export const CNPG_IMAGE_REPOSITORY = 'ghcr.io/cloudnative-pg/postgresql'

export interface KubernetesImages {
  postgres: string
  app: string
}

export interface ImagePlan {
  /** What the manifests name, so what the cluster must be able to pull. */
  images: KubernetesImages
  /** Commands that make both pullable: build the API image, and with a registry copy both there. */
  commands: string[]
}

/**
 * @param appTag the API image's tag: stackctl's version (see README: rebuild and push it after an upgrade)
 * @param appContext the stack directory's app/ build context, written by `stackctl render`
 */
export function planImages(
  pgMajor: number,
  mode: PostgresMode,
  appTag: string,
  appContext: string,
  registry?: string,
): ImagePlan {
  const postgres = mode === 'cloudnative-pg' ? `${CNPG_IMAGE_REPOSITORY}:${pgMajor}` : `postgres:${pgMajor}`
  const app = `${APP_IMAGE_REPOSITORY}:${appTag}`
  const build = `docker build --build-arg NODE_IMAGE=${REGISTRY_NODE_IMAGE} -t ${app} ${shellQuote(appContext)}`
  if (registry === undefined) return {images: {postgres, app}, commands: [build]}
  const images = {postgres: inRegistry(postgres, registry), app: inRegistry(app, registry)}
  return {
    images,
    commands: [
      build,
      `docker tag ${app} ${images.app}`,
      `docker push ${images.app}`,
      `docker pull ${postgres}`,
      `docker tag ${postgres} ${images.postgres}`,
      `docker push ${images.postgres}`,
    ],
  }
}

/** ghcr.io/cloudnative-pg/postgresql:17 → REGISTRY/cloudnative-pg/postgresql:17; postgres:17 → REGISTRY/postgres:17. */
export function inRegistry(image: string, registry: string): string {
  const [first, ...rest] = image.split('/')
  const hasHost = rest.length > 0 && (first.includes('.') || first.includes(':') || first === 'localhost')
  return `${registry}/${hasHost ? rest.join('/') : image}`
}
