'use strict'
// actions/detect-changes: `gitops changes` from the shared, hash-locked venv. Nothing else.
//
// This is a JavaScript action, not a composite one, for one reason: a composite action can
// expose only the outputs it declares (https://github.com/actions/runner/issues/2515), and
// dorny/paths-filter's outputs are named after the user's filters (`<filter>`,
// `<filter>_count`, `<filter>_files`), so its examples would not work with a changed `uses:`
// line alone. All the work is in Python, and inputs follow the convention of every action
// (gitops/commands/options.py): the runner passes input NAME as INPUT_<NAME>; this launcher
// hands it on as GITOPS_INPUT_<NAME> ('-' -> '_'), sources scripts/bootstrap.sh and runs
// `gitops changes --format json`, which reads each input into its option and writes
// $GITHUB_OUTPUT and the job summary itself. No input ever passes through a shell string.
const {spawnSync} = require('child_process')
const path = require('path')

const env = {}
for (const [name, value] of Object.entries(process.env)) {
  if (!name.startsWith('GITOPS_INPUT_')) env[name] = value
}
for (const [name, value] of Object.entries(process.env)) {
  if (name.startsWith('INPUT_')) env[`GITOPS_INPUT_${name.slice(6).replace(/-/g, '_')}`] = value
}

const bootstrap = path.join(__dirname, '..', '..', 'scripts', 'bootstrap.sh')
// bash -c SCRIPT NAME BOOTSTRAP ARGS...: the bootstrap path is $1 (not $0: bootstrap.sh tells
// being sourced from being run by comparing itself with $0), the gitops arguments the rest. core:
// the bootstrap profile of `gitops changes` (gitops.profiles.VERB_PROFILES). No `exec`: bash
// ends after gitops, as a composite action's step would (its EXIT trap, if any, runs).
const script = 'bootstrap="$1"; shift; source "$bootstrap" core && gitops "$@"'
const args = ['changes', '--format', 'json']
const run = spawnSync('bash', ['-c', script, 'detect-changes', bootstrap, ...args], {env, stdio: 'inherit'})
if (run.error) {
  process.stdout.write(`::error title=detect-changes::cannot start bash: ${run.error.message}\n`)
  process.exit(1)
}
process.exit(run.status === null ? 1 : run.status)
