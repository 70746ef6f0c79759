import {StackctlCommand} from '../../lib/base-command.js'

export default class ImagesBuild extends StackctlCommand {
  static override summary = 'Build the base images (PostgreSQL, Node.js) from Debian packages'

  async run(): Promise<void> {
    this.log('not yet')
  }
}
