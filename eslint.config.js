import js from '@eslint/js'
import {createTypeScriptImportResolver} from 'eslint-import-resolver-typescript'
import importX from 'eslint-plugin-import-x'
import tseslint from 'typescript-eslint'

/**
 * One direction of imports: commands → operations (stack, persistence, volume, upgrade, doctor, kubernetes,
 * cluster) → infrastructure (compose, engine, images, config, db, net, pgdata, stackdir, swarm) → the process
 * runner. A reverse import fails `npm test`.
 */
const OPERATIONS = ['stack', 'persistence', 'volume', 'upgrade', 'doctor', 'kubernetes', 'cluster', 'targets'].map(
  (name) => `./src/lib/${name}`,
)
const INFRASTRUCTURE = ['compose', 'engine', 'images', 'config', 'db', 'net', 'pgdata', 'stackdir', 'swarm'].map(
  (name) => `./src/lib/${name}`,
)
const layers = [
  {target: './src/lib', from: './src/commands', message: 'the library never imports a command'},
  ...INFRASTRUCTURE.map((target) => ({
    target,
    from: OPERATIONS,
    message: 'infrastructure (compose, engine, images, config, db, …) never imports an operation (stack, volume, …)',
  })),
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
  {target: './src/api', from: './src/lib', message: 'the API is bundled on its own: no CLI code in it'},
  {target: './src/lib', from: './src/api', message: 'the CLI does not import the API’s code'},
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
      // One module talks to the engine, one starts processes: everything else goes through them.
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {name: 'dockerode', message: 'use the Engine interface (src/lib/engine/engine.ts)'},
            {name: 'execa', message: 'use the process runner (src/lib/process/run.ts)'},
          ],
        },
      ],
    },
  },
  {files: ['src/lib/engine/dockerode-engine.ts'], rules: {'no-restricted-imports': 'off'}},
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
