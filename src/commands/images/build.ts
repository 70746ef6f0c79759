import {Flags} from '@oclif/core'

import {StackctlCommand} from '../../lib/cli/base-command.js'
import {displayFlags} from '../../lib/cli/flags.js'
import {buildImages, megabytes, type BuildImagesResult} from '../../lib/engine/images/builder.js'
import {
  ALL_IMAGE_NAMES,
  DEFAULT_LOCAL_PG_MAJOR,
  DEFAULT_MIRROR,
  IMAGE_ENV,
  LOCAL_PG_MAJORS,
} from '../../lib/engine/images/image-specs.js'

export default class ImagesBuild extends StackctlCommand {
  static override summary = 'Build the base images (PostgreSQL, Node.js) from Debian packages'
  // One line per paragraph: oclif wraps help text to the terminal's width itself.
  static override description = [
    "Builds stackctl/postgres:17 (Debian 13's postgresql-17) and stackctl/node:20 (Debian's nodejs) without a " +
      'container registry: debootstrap installs a minimal Debian with the package into a temporary folder, which ' +
      'is trimmed, imported into the engine and finished with the Dockerfile from templates/images/<name>/. ' +
      "--pg-major 15 builds stackctl/postgres:15 from Debian 12's postgresql-15 instead (repeat the flag for both).",
    "The PostgreSQL image accepts the official postgres image's settings (POSTGRES_PASSWORD or " +
      'POSTGRES_PASSWORD_FILE, POSTGRES_USER, POSTGRES_DB, PGDATA), so one compose file works with either.',
    'Images that exist and match their template are kept, so a second run takes a moment; one whose template ' +
      'changed is rebuilt on its existing rootfs in seconds; --force rebuilds everything. A full build needs ' +
      'root, debootstrap, a reachable Debian mirror and a running Docker engine, and takes about a minute.',
  ].join('\n\n')
  static override examples = [
    '<%= config.bin %> images build',
    '<%= config.bin %> images build --only postgres --force',
    '<%= config.bin %> images build --only postgres --pg-major 15 --pg-major 17',
    '<%= config.bin %> images build --mirror http://ftp.de.debian.org/debian --json',
  ]
  static override enableJsonFlag = true
  static override flags = {
    ...displayFlags,
    force: Flags.boolean({summary: 'Rebuild images even if they exist'}),
    only: Flags.string({summary: 'Build only this image', options: [...ALL_IMAGE_NAMES]}),
    mirror: Flags.string({summary: 'Debian mirror to install from', env: IMAGE_ENV.mirror, default: DEFAULT_MIRROR}),
    'pg-major': Flags.integer({
      summary: `PostgreSQL major of the postgres image (${LOCAL_PG_MAJORS.join(' or ')}); repeatable [default: ${DEFAULT_LOCAL_PG_MAJOR}]`,
      options: LOCAL_PG_MAJORS.map(String),
      multiple: true,
    }),
    suite: Flags.string({
      summary: "Debian release to install [default: each image's own: trixie, bookworm for PostgreSQL 15]",
      env: IMAGE_ENV.suite,
    }),
  }

  async run(): Promise<BuildImagesResult> {
    const {flags} = await this.parse(ImagesBuild)
    const display = this.stepDisplay(flags)
    const result = await display.around(() =>
      buildImages({
        engine: this.engines.host(),
        docker: this.engines.cli(),
        only: flags.only,
        pgMajors: flags['pg-major'],
        force: flags.force,
        mirror: flags.mirror,
        suite: flags.suite,
        progress: display.info,
        phase: display.phase,
      }),
    )
    for (const image of result.images) {
      const version = image.packageVersion ? ` ${image.packageVersion}` : ''
      this.log(
        `${image.image.padEnd(20)} ${image.status.padEnd(7)} ${megabytes(image.sizeBytes).padStart(7)}${version}`,
      )
    }
    this.log(`done in ${result.seconds.toFixed(1)} s`)
    return result
  }
}
