/**
 * Render step shared by `render` and `up`: resolve images, prepare the app's build context and the password,
 * render the compose file and write it — unless the file on disk was edited by hand.
 */
import {readFile} from 'node:fs/promises'

import {renderCompose, type StackImages} from '../compose/render.js'
import {
  TEMPLATES,
  composeFileStatus,
  ensurePasswordFile,
  ensureStackDir,
  prepareAppContext,
  readOptional,
  sha256,
  writeComposeFile,
  writeState,
  type ComposeFileStatus,
} from '../compose/stack-files.js'
import {StackctlError} from '../errors.js'
import type {StackContext} from './context.js'
import {resolveImages, type ImageResolver} from './images.js'
import {devMode} from './dev-mode.js'
import {volumeExists} from './volume.js'

/** The API never runs as root: as root we hand it uid 1000, otherwise it runs as the invoking user. */
export function appIdentity(): {uid: number; gid: number} {
  const uid = process.getuid?.() ?? 1000
  const gid = process.getgid?.() ?? 1000
  return uid === 0 ? {uid: 1000, gid: 1000} : {uid, gid}
}

export interface RenderedStack {
  composeText: string
  images: StackImages
  imageReason: string
  fileStatus: ComposeFileStatus
  written: boolean
  passwordCreated: boolean
}

export async function renderStack(
  ctx: StackContext,
  resolver: ImageResolver,
  options: {force?: boolean; write?: boolean; devSource?: string} = {},
): Promise<RenderedStack> {
  const {config, paths} = ctx
  const write = options.write ?? true
  const remembered = ctx.state?.settings.resolvedImageSource
  const {images, reason} = await resolveImages(config.imageSource, config.pgMajor, remembered, resolver)
  const identity = appIdentity()
  const template = await readFile(TEMPLATES.compose, 'utf8')

  if (write) await ensureStackDir(paths)
  const dev = options.devSource === undefined ? undefined : await devMode(options.devSource)
  const appTag = write && !dev ? await prepareAppContext(paths, images.node) : 'unbuilt'
  const composeText = renderCompose(template, {
    config,
    images,
    appImage: `stackctl-app:${appTag}`,
    appUser: `${identity.uid}:${identity.gid}`,
    dev,
  })
  if (!write) {
    return {composeText, images, imageReason: reason, fileStatus: 'missing', written: false, passwordCreated: false}
  }

  const fileStatus = await composeFileStatus(paths, ctx.state, composeText)
  if (fileStatus === 'edited' && !options.force) {
    throw new StackctlError(`${paths.composeFile} was edited by hand since stackctl wrote it`, {
      exitCode: 2,
      suggestion: 'keep your edits elsewhere, or pass --force to overwrite it with the rendered file',
    })
  }
  const password = await guardPassword(ctx, identity)
  if (fileStatus !== 'unchanged') await writeComposeFile(paths, composeText)
  await writeState(paths, {
    settings: {
      project: config.project,
      host: config.host,
      port: config.port,
      pgMajor: config.pgMajor,
      imageSource: config.imageSource,
      resolvedImageSource: images.source,
    },
    composeSha256: sha256(composeText),
    passwordSha256: password.sha256,
  })
  return {
    composeText,
    images,
    imageReason: reason,
    fileStatus,
    written: fileStatus !== 'unchanged',
    passwordCreated: password.created,
  }
}

/**
 * The classic trap: once the volume is initialised PostgreSQL ignores POSTGRES_PASSWORD, so generating a
 * new password for an existing volume would lock the API out. Refuse instead.
 */
async function guardPassword(ctx: StackContext, identity: {uid: number; gid: number}) {
  const {paths, config} = ctx
  const current = await readOptional(paths.passwordFile)
  const hasVolume = await volumeExists(ctx.docker, config.project)
  const recorded = ctx.state?.passwordSha256
  if (current !== undefined && hasVolume && recorded && recorded !== sha256(current)) {
    throw new StackctlError(
      `the password file ${paths.passwordFile} changed after the data volume ${config.project}_postgres_data was initialised; PostgreSQL still expects the original password`,
      {
        exitCode: 2,
        suggestion:
          'restore the original secrets/db_password; to start over with the new one, delete the volume with stackctl down --volumes',
      },
    )
  }
  if (current === undefined && hasVolume) {
    throw new StackctlError(
      `the data volume ${config.project}_postgres_data exists but the password file ${paths.passwordFile} is missing; a new password would not match the one the database was initialised with`,
      {
        exitCode: 2,
        suggestion:
          'restore secrets/db_password into the stack directory (or use the --dir that created the stack); to start over, delete the volume with stackctl down --volumes',
      },
    )
  }
  return ensurePasswordFile(paths, identity.uid, identity.gid)
}
