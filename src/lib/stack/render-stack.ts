/**
 * Render step shared by `render` and `up`: resolve images, prepare the app's build context and the password,
 * render the compose file and write it — unless the file on disk was edited by hand.
 */
import {formatDuration, type BackupSchedule} from '../model/backup-schedule.js'
import {readFile} from 'node:fs/promises'

import {readOptional, readState, sha256} from '../model/stackdir/stack-files.js'
import {ensureChildDirectory} from '../model/stackdir/files.js'

import {renderCompose} from '../targets/compose/render.js'
import type {StackImages} from '../engine/images/stack-images.js'
import {
  TEMPLATES,
  composeFileStatus,
  ensurePasswordFile,
  ensureStackDir,
  newStackId,
  appContext,
  prepareAppContext,
  writeComposeFile,
  writeState,
  type ComposeFileStatus,
  type StackState,
} from '../model/stackdir/stack-files.js'
import {volumeName} from '../model/config/stack-config.js'
import {StackctlError} from '../errors.js'
import {appRuntime} from '../engine/capabilities.js'
import {stackVolume, type StackContext} from './context.js'
import {resolveImages, type ImageResolver} from './images.js'
import {devMode} from '../targets/compose/dev-mode.js'
import {claimStack} from './ownership.js'
import {checkPasswordAgainstServer, serverVerifier} from './password.js'
import {registerStack} from './registry.js'
import {volumeHoldsCluster} from '../targets/compose/volume.js'
import {archiveChoice, type ArchiveChoice} from '../operations/protect/choice.js'
import {backupsVolumeName} from '../model/protection.js'
import {stackCommand} from '../model/config/command-line.js'

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
  walArchive: ArchiveChoice
  fileStatus: ComposeFileStatus
  written: boolean
  passwordCreated: boolean
  /**
   * Whether the password file is known to be the one the volume accepts: 'unverified' when the volume exists,
   * the db is not running and nothing recorded vouches for the file (up then checks it against the server).
   */
  password: 'verified' | 'unverified'
}

export async function renderStack(
  ctx: StackContext,
  resolver: ImageResolver,
  options: {force?: boolean; write?: boolean; devSource?: string} = {},
): Promise<RenderedStack> {
  const {config, paths} = ctx
  const write = options.write ?? true
  const remembered = ctx.state?.settings.resolvedImageSource
  if (write) await ensureStackDir(paths)
  const claim = write ? await claimStack(ctx, {adopt: ctx.adopt}) : undefined
  // The running server's password verifier (an exec), read while the images and the file are worked out; only
  // read, and only of this stack's own db (after the claim). guardPassword compares it with the file.
  const verifier = write ? serverVerifier(ctx) : undefined
  verifier?.catch(() => {}) // awaited in guardPassword
  const {images, reason} = await resolveImages(config.imageSource, config.pgMajor, remembered, resolver)
  const identity = appIdentity()
  const runtime = appRuntime(await ctx.engine.describe(), identity)
  const template = await readFile(TEMPLATES.compose, 'utf8')
  const stackId = ctx.state?.stackId ?? newStackId()

  const dev = options.devSource === undefined ? undefined : await devMode(options.devSource)
  // --stdout writes nothing but still names the tag up would build and run; dev mode builds no image.
  const appTag = dev
    ? 'unbuilt'
    : write
      ? await prepareAppContext(paths, images.node)
      : (await appContext(images.node)).tag
  const walArchive = archiveChoice(config.walArchive, images, {
    had: ctx.state?.settings.walArchive,
    fresh: ctx.state === undefined,
    optIn: stackCommand(config, 'up --wal-archive'),
    backupsVolume: backupsVolumeName(config.project),
  })
  const composeText = renderCompose(template, {
    config: {...config, walArchive: walArchive.on},
    images,
    appImage: `stackctl-app:${appTag}`,
    appUser: runtime.user,
    appUsernsMode: runtime.usernsMode,
    dev,
    identity: {stackId, dir: paths.dir},
  })
  if (!write) {
    const unwritten = {fileStatus: 'missing' as const, written: false, passwordCreated: false}
    return {composeText, images, imageReason: reason, walArchive, ...unwritten, password: 'unverified'}
  }

  const fileStatus = await composeFileStatus(paths, ctx.state, composeText)
  if (fileStatus === 'edited' && !options.force) {
    throw new StackctlError(`${paths.composeFile} was edited by hand since stackctl wrote it`, {
      exitCode: 2,
      suggestion: 'keep your edits elsewhere, or pass --force to overwrite it with the rendered file',
    })
  }
  const password = await guardPassword(ctx, identity, verifier)
  if (fileStatus !== 'unchanged') await writeComposeFile(paths, composeText)
  const state: StackState = {
    ...ctx.state,
    stackId,
    adopted: claim?.adopted ?? ctx.state?.adopted,
    settings: {
      project: config.project,
      host: config.host,
      port: config.port,
      dbPort: config.dbPort,
      pgMajor: config.pgMajor,
      imageSource: config.imageSource,
      resolvedImageSource: images.source,
      volume: config.volume === volumeName(config.project) ? undefined : config.volume,
      walArchive: config.walArchive,
      ...rememberedSchedule(config.backupSchedule),
    },
    composeSha256: sha256(composeText),
    passwordSha256: password.verified ? password.sha256 : ctx.state?.passwordSha256,
  }
  await writeState(paths, state)
  await registerStack({stackId, project: config.project, dir: paths.dir})
  // The rest of this command (status, ownership checks) must see the stack as it is now.
  ctx.state = state
  return {
    composeText,
    images,
    imageReason: reason,
    walArchive,
    fileStatus,
    written: fileStatus !== 'unchanged',
    passwordCreated: password.created,
    password: password.verified ? 'verified' : 'unverified',
  }
}

/** Records a password that was just proven against the running database. */
export async function recordVerifiedPassword(ctx: StackContext, sha: string): Promise<void> {
  const state = await readState(ctx.paths)
  if (!state) return
  ctx.state = {...state, passwordSha256: sha}
  await writeState(ctx.paths, ctx.state)
}

/**
 * The classic trap: once the volume is initialised PostgreSQL ignores POSTGRES_PASSWORD_FILE, so a new or
 * swapped password file would lock the API out. The volume is the authority: the file is checked against the
 * running server's verifier; with the db stopped, against the hash recorded when it was last proven. The
 * advice never involves deleting data.
 */
async function guardPassword(
  ctx: StackContext,
  identity: {uid: number; gid: number},
  verifier?: Promise<string | undefined>,
) {
  const {paths, config} = ctx
  const volume = config.volume
  // Only a volume that holds a cluster has a password of its own; an empty one takes the file's.
  const hasVolume = await volumeHoldsCluster(ctx.engine, stackVolume(ctx))
  await ensureChildDirectory(paths.secretsDir, 0o700) // never read or write through a linked secrets/
  const current = await readOptional(paths.passwordFile)
  if (current === undefined && hasVolume) {
    throw new StackctlError(
      `the data volume ${volume} exists but the password file ${paths.passwordFile} is missing; a new password would not match the one the database was initialised with`,
      {
        exitCode: 2,
        suggestion:
          'restore secrets/db_password into the stack directory from your copy of it (or use the --dir that created the stack); the volume was not touched',
      },
    )
  }
  const file = await ensurePasswordFile(paths, identity.uid, identity.gid)
  if (!hasVolume) return {...file, verified: true} // the volume will be initialised with this very file
  const content = (await readOptional(paths.passwordFile)) ?? ''
  const check = await checkPasswordAgainstServer(ctx, content, verifier)
  const recorded = ctx.state?.passwordSha256
  if (check === 'mismatch' || (check === 'unknown' && recorded !== undefined && recorded !== file.sha256)) {
    throw passwordMismatch(ctx, check === 'mismatch' ? 'the running database' : 'the password last proven to work')
  }
  return {...file, verified: check === 'match' || recorded === file.sha256}
}

export function passwordMismatch(ctx: StackContext, against: string): StackctlError {
  return new StackctlError(
    `the password file ${ctx.paths.passwordFile} does not match the password of the database in volume ${ctx.config.volume} (checked against ${against}); PostgreSQL only uses the file when it first initialises a volume`,
    {
      exitCode: 2,
      suggestion:
        'restore the original secrets/db_password (from your copy of the stack directory); nothing was changed and the volume was not touched',
    },
  )
}

/** The schedule as stack.json keeps it: the durations, normalised (`1d`), or `off`. */
function rememberedSchedule(schedule: BackupSchedule | undefined): {backupEvery: string; fullBackupEvery?: string} {
  return schedule
    ? {backupEvery: formatDuration(schedule.everySeconds), fullBackupEvery: formatDuration(schedule.fullEverySeconds)}
    : {backupEvery: 'off'}
}
