/**
 * What bin/run.js runs oclif with. The CLI bundle (scripts/bundle-cli.mjs) builds this with the commands, so
 * oclif's code is one module graph with them: bin/run.js and every command share one @oclif/core, loaded from a
 * chunk instead of its ~150 files in node_modules.
 */
export {execute} from '@oclif/core'
