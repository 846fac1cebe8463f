// Makes sure the real peers the tests talk to are installed before `npm test`
// runs: redis-server, dnsmasq, PostgreSQL (the dormant pg instrumentation's
// tests start a throwaway server with initdb), openssl (for the TLS tests'
// certificates) and curl (the documentation's curl commands run in test/docs).
// As root with apt-get, it installs the missing ones from Debian; otherwise it
// prints the one command that does and exits 1, so no test is silently skipped.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Command the tests run -> the Debian package that provides it. */
const PEERS = {
  'redis-server': 'redis-server',
  dnsmasq: 'dnsmasq-base',
  initdb: 'postgresql',
  openssl: 'openssl',
  curl: 'curl',
};

/** Debian keeps PostgreSQL's server programs (initdb, postgres) off PATH, in one folder per major version. */
function postgresBinDirs() {
  try {
    return readdirSync('/usr/lib/postgresql').map((version) => join('/usr/lib/postgresql', version, 'bin'));
  } catch {
    return [];
  }
}

const search = () => [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', ...postgresBinDirs()];

function installed(command) {
  return search().some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function run(command, args) {
  const result = spawnSync(command, args, {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return result.status === 0;
}

const missing = Object.entries(PEERS)
  .filter(([command]) => !installed(command))
  .map(([, pkg]) => pkg);
if (missing.length > 0) {
  const install = ['install', '-y', '-qq', '--no-install-recommends', ...missing];
  const canInstall = process.getuid?.() === 0 && installed('apt-get');
  if (!canInstall) {
    console.error(`npm test needs ${missing.join(', ')}: run \`sudo apt-get install -y ${missing.join(' ')}\``);
    process.exit(1);
  }
  console.error(`npm test: installing ${missing.join(', ')} with apt-get`);
  if (!run('apt-get', ['update', '-qq']) || !run('apt-get', install)) {
    console.error(`npm test: apt-get could not install ${missing.join(', ')}`);
    process.exit(1);
  }
  const still = Object.keys(PEERS).filter((command) => !installed(command));
  if (still.length > 0) {
    console.error(`npm test: ${still.join(', ')} still not found after apt-get install`);
    process.exit(1);
  }
}
