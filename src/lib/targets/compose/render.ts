/**
 * Pure rendering: template text + typed inputs → docker-compose.yml text, through the stack model
 * (src/lib/model). No I/O here: stack/render-stack.ts reads the template and model/stackdir/stack-files.ts writes
 * the result.
 */
import type {StackConfig} from '../../model/config/stack-config.js'
import type {StackImages} from '../../engine/images/stack-images.js'
import {toCompose} from '../../model/compose-writer.js'
import {
  stackModel,
  type DevMode,
  type ModelInput,
  type StackIdentity,
  type StackModel,
} from '../../model/stack-model.js'

export type {DevMode, StackIdentity}

export interface RenderInput {
  /**
   * `volume`: the data volume when it is not `<project>_postgres_data` (after `db upgrade`); `dbPort`: the
   * host port the database is published on (--db-port), none when undefined.
   */
  config: Pick<StackConfig, 'project' | 'host' | 'port' | 'pgMajor'> & {
    volume?: string
    dbPort?: number
    /** The db archives its WAL with pgBackRest (the local images carry it; the official ones do not). */
    walArchive?: boolean
  }
  images: StackImages
  /** Tag of the app image; derived from the build context's content so a changed bundle means a new image. */
  appImage: string
  /**
   * uid:gid the API runs as: the invoking user's (never root), or 0:0 on rootless Docker, where the container's
   * root is that unprivileged user; `appUsernsMode` keep-id on rootless Podman (engine/capabilities.ts).
   */
  appUser: string
  appUsernsMode?: 'keep-id'
  /** Development mode: the API runs from a working tree instead of the built image. */
  dev?: DevMode
  /** Who the stack is: every service, the network and the volume are labelled with it. */
  identity: StackIdentity
}

export function renderCompose(templateText: string, input: RenderInput): string {
  return toCompose(composeModel(input), templateText)
}

/** What `up` runs, as the typed model the writers share (swarm: with its replicas and placement). */
export function composeModel(input: RenderInput, target: Pick<ModelInput, 'replicas' | 'swarm'> = {}): StackModel {
  return stackModel(input.config, {
    images: input.images,
    appImage: input.appImage,
    appUser: input.appUser,
    appUsernsMode: input.appUsernsMode,
    dev: input.dev,
    identity: input.identity,
    ...target,
  })
}
