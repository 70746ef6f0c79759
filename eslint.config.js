import {readdirSync} from 'node:fs'

import js from '@eslint/js'
import {createTypeScriptImportResolver} from 'eslint-import-resolver-typescript'
import importX from 'eslint-plugin-import-x'
import tseslint from 'typescript-eslint'

/**
 * One direction of imports: commands → operations (stack, persistence, volume, upgrade, doctor, kubernetes,
 * cluster) → infrastructure (compose, engine, images, config, db, model, net, pgdata, stackdir, swarm, wait)
 * → the process runner. A reverse import fails `npm test`.
 */
const OPERATIONS = ['stack', 'persistence', 'volume', 'upgrade', 'doctor', 'kubernetes', 'cluster', 'targets'].map(
  (name) => `./src/lib/${name}`,
)
const INFRASTRUCTURE = [
  'compose',
  'engine',
  'images',
  'config',
  'db',
  'model',
  'net',
  'pgdata',
  'stackdir',
  'swarm',
  'wait',
].map((name) => `./src/lib/${name}`)
/** The loose files at the root of src/lib: small infrastructure every layer may use. */
const LOOSE = [
  'errors.ts',
  'files.ts',
  'flags.ts',
  'interrupt.ts',
  'package-root.ts',
  'passthrough-argv.ts',
  'prompt.ts',
  'suggest.ts',
].map((name) => `./src/lib/${name}`)
/**
 * The concrete engine (dockerode) and the process runner are wired in one place: the engine layer builds on
 * them and the composition root (the base command) creates the engines; everything else receives an Engine.
 * Read from the tree, so a new folder is covered without editing this list.
 */
const WIRED = ['./src/lib/engine/dockerode-engine.ts', './src/lib/process/run.ts']
const BEYOND_ENGINE_LAYER = readdirSync(new URL('./src/lib', import.meta.url), {withFileTypes: true})
  .filter((entry) => !['engine', 'process', 'base-command.ts'].includes(entry.name))
  .map((entry) => `./src/lib/${entry.name}`)
const layers = [
  {target: './src/lib', from: './src/commands', message: 'the library never imports a command'},
  {
    target: './src/commands',
    from: WIRED,
    message: 'a command receives its engines from the base command: never the dockerode engine or the process runner',
  },
  {
    target: BEYOND_ENGINE_LAYER,
    from: './src/lib/engine/dockerode-engine.ts',
    message: 'only the engine layer and the composition root (base-command.ts) create engines: take an Engine',
  },
  ...LOOSE.map((target) => ({
    target,
    from: OPERATIONS,
    message: 'the loose files of src/lib are infrastructure: they never import an operation (stack, volume, …)',
  })),
  ...INFRASTRUCTURE.map((target) => ({
    target,
    from: OPERATIONS,
    message: 'infrastructure (compose, engine, images, config, db, …) never imports an operation (stack, volume, …)',
  })),
  {
    target: './src/lib/steps',
    from: OPERATIONS,
    message: 'the step runner is infrastructure: it never imports an operation',
  },
  {
    target: './src/lib/process',
    from: './src/lib',
    except: ['./process', './errors.ts'],
    message: 'the process runner depends on nothing but the errors',
  },
  {
    target: './src/lib/ui',
    from: './src/lib',
    except: ['./ui'],
    message: 'the display knows nothing of stacks: operations report through their context',
  },
  {
    // Planners judge an observation and return steps: nothing they import may reach the engine, a process or a file.
    target: './src/lib/plan/!(observe).ts',
    from: './src/lib/**',
    except: [
      '**/src/lib/plan/**',
      '**/src/lib/engine/engine.*',
      '**/src/lib/errors.*',
      '**/src/lib/config/labels.*',
      '**/src/lib/swarm/db-node.*',
      '**/src/lib/upgrade/plan.*',
    ],
    message: 'a planner is pure: it reads a snapshot and returns steps (only plan/observe.ts looks at the engine)',
  },
  {target: './src/api', from: './src/lib', message: 'the API is bundled on its own: no CLI code in it'},
  {target: './src/lib', from: './src/api', message: 'the CLI does not import the API’s code'},
]

/** One module talks to the engine, one starts processes: everything else goes through them. */
const ONE_MODULE = [
  {name: 'dockerode', message: 'use the Engine interface (src/lib/engine/engine.ts)'},
  {name: 'execa', message: 'use the process runner (src/lib/process/run.ts)'},
]
/** The library reaches processes and the database only through its boundaries (the API, src/api, uses pg). */
const NOT_IN_LIB = [
  ...['node:child_process', 'child_process'].map((name) => ({
    name,
    message: 'start processes through the process runner (src/lib/process/run.ts), docker through src/lib/engine',
  })),
  {name: 'pg', message: 'the CLI reaches the database through the engine (psql in the db container), never pg'},
]

export default tseslint.config(
  {ignores: ['dist/**', 'node_modules/**', '.stackctl/**', 'templates/**', 'bench/results/**', 'oclif.manifest.json']},
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        URL: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', {argsIgnorePattern: '^_', varsIgnorePattern: '^_'}],
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: {'import-x': importX},
    settings: {'import-x/resolver-next': [createTypeScriptImportResolver({project: './tsconfig.check.json'})]},
    rules: {
      'import-x/no-restricted-paths': ['error', {zones: layers}],
      'import-x/no-cycle': 'error',
      'no-restricted-imports': ['error', {paths: ONE_MODULE}],
    },
  },
  {files: ['src/lib/**/*.ts'], rules: {'no-restricted-imports': ['error', {paths: [...ONE_MODULE, ...NOT_IN_LIB]}]}},
  {
    // Every `docker` process goes through the engine layer's typed verbs (src/lib/engine/docker-cli.ts). The
    // other programs stackctl runs are named here: debootstrap and `umount` build an image's root filesystem
    // on this machine, and the browser opener is `xdg-open`/`open`; none of them is a docker verb.
    files: ['src/lib/**/*.ts'],
    ignores: [
      'src/lib/engine/**',
      'src/lib/process/**',
      'src/lib/base-command.ts',
      'src/lib/images/builder.ts',
      'src/lib/images/rootfs.ts',
      'src/lib/stack/open.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...ONE_MODULE, ...NOT_IN_LIB],
          patterns: [
            {
              group: ['**/process/run', '**/process/run.js'],
              message: 'run docker through the engine layer (src/lib/engine/docker-cli.ts), not the process runner',
            },
          ],
        },
      ],
    },
  },
  {files: ['src/lib/engine/dockerode-engine.ts'], rules: {'no-restricted-imports': 'off'}},
  {
    files: ['src/lib/plan/**/*.ts'],
    ignores: ['src/lib/plan/observe.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {group: ['node:*', 'pg', 'dockerode', 'execa', 'debug'], message: 'a planner is pure: no I/O module'},
            {group: ['./observe*'], message: 'a planner is handed its observation; it does not take one'},
          ],
        },
      ],
    },
  },
  {files: ['src/lib/process/run.ts'], rules: {'no-restricted-imports': 'off'}},
  {
    files: ['**/*.cjs'],
    languageOptions: {sourceType: 'commonjs', globals: {require: 'readonly', module: 'writable'}},
    rules: {'@typescript-eslint/no-require-imports': 'off'},
  },
  {
    files: ['test/**/*.ts'],
    rules: {'@typescript-eslint/no-unused-expressions': 'off'},
  },
)
