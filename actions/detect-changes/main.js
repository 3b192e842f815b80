'use strict'
// actions/detect-changes: `gitops changes` from the shared, hash-locked venv. Nothing else.
//
// This is a JavaScript action, not a composite one, for one reason: a composite action can
// expose only the outputs it declares (https://github.com/actions/runner/issues/2515), and
// dorny/paths-filter's outputs are named after the user's filters (`<filter>`,
// `<filter>_count`, `<filter>_files`), so its examples would not work with a changed `uses:`
// line alone. All the work is in Python: this file maps the inputs (the runner passes them as
// INPUT_<NAME> variables) to flags, sources scripts/bootstrap.sh and runs gitops, which
// writes $GITHUB_OUTPUT and the job summary itself. Inputs never pass through a shell string.
const {spawnSync} = require('child_process')
const path = require('path')

function input(name) {
  return (process.env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] || '').trim()
}

// Our input name and dorny/paths-filter's for the same thing: either may be used, not both.
function either(ours, theirs) {
  const a = input(ours)
  const b = input(theirs)
  if (a && b && a !== b) {
    process.stdout.write(
      `::error title=detect-changes: two inputs for one value::set '${ours}' or '${theirs}' (dorny/paths-filter's name), not both\n`
    )
    process.exit(1)
  }
  return a || b
}

const args = [
  'changes',
  '--format=json',
  `--repo=${either('path', 'working-directory') || '.'}`,
  `--base=${input('base')}`,
  `--head=${either('head', 'ref')}`,
  `--filters=${input('filters')}`,
  `--infra=${input('infra-dir') || 'infra'}`,
  `--list-files=${input('list-files') || 'none'}`,
  `--predicate-quantifier=${input('predicate-quantifier') || 'some'}`
]
const bootstrap = path.join(__dirname, '..', '..', 'scripts', 'bootstrap.sh')
// bash -c SCRIPT NAME BOOTSTRAP ARGS...: the bootstrap path is $1 (not $0: bootstrap.sh tells
// being sourced from being run by comparing itself with $0), the gitops arguments the rest. core:
// the bootstrap profile of `gitops changes` (gitops.profiles.VERB_PROFILES). No `exec`: bash
// ends after gitops, as a composite action's step would (its EXIT trap, if any, runs).
const script = 'bootstrap="$1"; shift; source "$bootstrap" core && gitops "$@"'
const run = spawnSync('bash', ['-c', script, 'detect-changes', bootstrap, ...args], {stdio: 'inherit'})
if (run.error) {
  process.stdout.write(`::error title=detect-changes::cannot start bash: ${run.error.message}\n`)
  process.exit(1)
}
process.exit(run.status === null ? 1 : run.status)
