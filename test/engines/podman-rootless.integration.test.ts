/**
 * The core end-to-end set (core-set.ts) on rootless Podman, run as its user (issue 24), and what only a
 * rootless engine has (rootless.ts). Without the engine this file fails at once, saying how to start it.
 */
import {coreSet} from './core-set.js'
import {rootlessChecks, rootlessEngine} from './rootless.js'

describe('the core set on rootless Podman (integration)', function () {
  this.timeout(300_000)
  coreSet(rootlessEngine('podman'), rootlessChecks('podman'))
})
