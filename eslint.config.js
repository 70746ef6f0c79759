import {readdirSync} from 'node:fs'

import js from '@eslint/js'
import {createTypeScriptImportResolver} from 'eslint-import-resolver-typescript'
import importX from 'eslint-plugin-import-x'
import tseslint from 'typescript-eslint'

const lib = (name) => `./src/lib/${name}`
/**
 * One direction of imports: commands → what stackctl does to a stack (stack: the target-independent stack;
 * targets: compose, swarm, kubernetes; operations: verify, backup-restore, upgrade, doctor, db) → what a stack is
 * and the machine below it (model, engine: Compose client, images, net, pgdata, wait) → the process runner.
 * A reverse import fails `npm test`.
 */
const OPERATIONS = ['stack', 'targets', 'operations'].map(lib)
const INFRASTRUCTURE = ['engine', 'model'].map(lib)
/**
 * Pure pieces that live beside the operations they serve but are infrastructure: the Compose renderer, the
 * swarm stack file's renderer and its pure choices, and psql in the db container. They never import an operation.
 */
const PURE_IN_OPERATIONS = [
  'targets/compose/render.ts',
  'targets/swarm/db-node.ts',
  'targets/swarm/endpoint-choice.ts',
  'targets/swarm/local-spec.ts',
  'targets/swarm/modes.ts',
  'targets/swarm/render.ts',
  'targets/swarm/secret.ts',
  'targets/swarm/tasks.ts',
  'operations/db',
]
/** The small shared files every layer may use (the errors, the package root, the CLI's flags and prompts). */
const LOOSE = [
  'errors.ts',
  'package-root.ts',
  'cli/flags.ts',
  'cli/interrupt.ts',
  'cli/passthrough-argv.ts',
  'cli/prompt.ts',
  'cli/suggest.ts',
].map(lib)
/**
 * The concrete engine (dockerode) and the process runner are wired in one place: the engine layer builds on
 * them and the composition root (the base command) creates the engines; everything else receives an Engine.
 * Read from the tree, so a new folder is covered without editing this list.
 */
const WIRED = ['./src/lib/engine/dockerode-engine.ts', './src/lib/engine/process/run.ts']
const entries = (dir) => readdirSync(new URL(dir, import.meta.url), {withFileTypes: true}).map((entry) => entry.name)
const BEYOND_ENGINE_LAYER = [
  ...entries('./src/lib')
    .filter((name) => !['engine', 'cli'].includes(name))
    .map(lib),
  ...entries('./src/lib/cli')
    .filter((name) => name !== 'base-command.ts')
    .map((name) => lib(`cli/${name}`)),
]
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
    message: 'the loose files of src/lib are infrastructure: they never import an operation (stack, targets, …)',
  })),
  ...INFRASTRUCTURE.map((target) => ({
    target,
    from: OPERATIONS,
    message: 'infrastructure (engine, model) never imports an operation (stack, targets, operations)',
  })),
  {
    target: PURE_IN_OPERATIONS.map(lib),
    from: ['./src/lib/stack/**', './src/lib/targets/**', './src/lib/operations/**'],
    except: PURE_IN_OPERATIONS.map(
      (name) => `**/src/lib/${name.endsWith('.ts') ? name.slice(0, -3) + '.*' : name + '/**'}`,
    ),
    message: 'a renderer, a pure swarm choice or db (psql) is infrastructure: it never imports an operation',
  },
  {
    target: './src/lib/plan/runner.ts',
    from: OPERATIONS,
    message: 'the step runner is infrastructure: it never imports an operation',
  },
  {
    target: './src/lib/engine/process',
    from: './src/lib',
    except: ['./engine/process', './errors.ts'],
    message: 'the process runner depends on nothing but the errors',
  },
  {
    target: './src/lib/cli/ui',
    from: './src/lib',
    except: ['./cli/ui'],
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
      '**/src/lib/model/config/labels.*',
      '**/src/lib/targets/swarm/db-node.*',
      '**/src/lib/operations/upgrade/plan.*',
    ],
    message: 'a planner is pure: it reads a snapshot and returns steps (only plan/observe.ts looks at the engine)',
  },
  {target: './src/api', from: './src/lib', message: 'the API is bundled on its own: no CLI code in it'},
  {
    target: './src/lib',
    from: './src/api',
    // The /healthz contract both sides read (import-free, so the CLI takes none of the API with it).
    except: ['./healthz-protocol.ts'],
    message: 'the CLI does not import the API’s code',
  },
]

/** One module talks to the engine, one starts processes: everything else goes through them. */
const ONE_MODULE = [
  {name: 'dockerode', message: 'use the Engine interface (src/lib/engine/engine.ts)'},
  {name: 'execa', message: 'use the process runner (src/lib/engine/process/run.ts)'},
]
/** The library reaches processes and the database only through its boundaries (the API, src/api, uses pg). */
const NOT_IN_LIB = [
  ...['node:child_process', 'child_process'].map((name) => ({
    name,
    message:
      'start processes through the process runner (src/lib/engine/process/run.ts), docker through src/lib/engine',
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
      // The engine's own files (its Compose client goes through docker-cli.ts like everyone else).
      'src/lib/engine/!(compose-client).ts',
      'src/lib/engine/process/**',
      'src/lib/cli/base-command.ts',
      'src/lib/engine/images/builder.ts',
      'src/lib/engine/images/rootfs.ts',
      'src/lib/targets/compose/open.ts',
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
    // One composition root: the `docker` CLI runner, like the engines, comes from the EngineFactory the base
    // command hands down (engines.cli(endpoint)), so every docker process of a command shares its endpoints.
    files: ['src/**/*.ts'],
    ignores: ['src/lib/engine/factory.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "NewExpression[callee.name='DockerCli']",
          message: 'get the docker CLI from the EngineFactory (engines.cli(endpoint)); only factory.ts makes one',
        },
      ],
    },
  },
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
  {files: ['src/lib/engine/process/run.ts'], rules: {'no-restricted-imports': 'off'}},
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
