import {StackctlCommand} from '../lib/cli/base-command.js'

export interface VersionResult {
  /** stackctl's version (package.json). */
  version: string
  /** What `stackctl --version` prints: stackctl/VERSION PLATFORM-ARCH node-vNODE. */
  userAgent: string
  platform: string
  arch: string
  node: string
}

export default class Version extends StackctlCommand {
  static override summary = 'Print stackctl’s version, platform and Node.js version (as --version does)'
  static override examples = ['<%= config.bin %> version', '<%= config.bin %> version --json']
  static override enableJsonFlag = true

  async run(): Promise<VersionResult> {
    await this.parse(Version)
    const {config} = this
    this.log(config.userAgent)
    return {
      version: config.version,
      userAgent: config.userAgent,
      platform: config.platform,
      arch: config.arch,
      node: process.versions.node,
    }
  }
}
