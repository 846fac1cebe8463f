import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freeTcpPort } from './free-port';

/** A throwaway PostgreSQL server (Debian's `postgresql`) on a loopback port, with its data in a temp dir. */
export interface PostgresServer {
  readonly host: string;
  readonly port: number;
  /** The superuser the server was initialised with (trust authentication on loopback). */
  readonly user: string;
  readonly database: string;
  stop(): Promise<void>;
}

/** Where Debian puts the server binaries (not on PATH), newest version first; else PATH. */
function binDir(): string {
  const base = '/usr/lib/postgresql';
  const versions = spawnSync('ls', [base], { encoding: 'utf8' }).stdout?.split('\n').filter(Boolean) ?? [];
  const newest = versions.sort((a, b) => Number(b) - Number(a)).find((v) => existsSync(path.join(base, v, 'bin')));
  return newest === undefined ? '' : path.join(base, newest, 'bin');
}

/** Who runs the server: PostgreSQL refuses root, so as root it runs as the `postgres` user Debian's package creates. */
interface ServerUser {
  readonly name: string;
  readonly ids: { uid?: number; gid?: number };
}

function serverUser(dir: string): ServerUser {
  if (process.getuid?.() !== 0) return { name: userInfo().username, ids: {} };
  const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) {
    throw new Error('running as root, and there is no postgres user to run PostgreSQL as (apt-get install postgresql)');
  }
  const ids = { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  chownSync(dir, ids.uid, ids.gid);
  return { name: 'postgres', ids };
}

/**
 * Initialises a database cluster in a temp dir and starts `postgres` on a
 * free loopback port (its unix socket in the same dir); fails with a clear
 * message if PostgreSQL is not installed (`npm test`'s pretest installs it).
 */
export async function startPostgresServer(): Promise<PostgresServer> {
  const bin = binDir();
  const program = (name: string) => (bin === '' ? name : path.join(bin, name));
  const dir = mkdtempSync(path.join(tmpdir(), 'dynamic-hooks-pg-'));
  const data = path.join(dir, 'data');
  const user = serverUser(dir);
  const init = spawnSync(
    program('initdb'),
    ['-D', data, '-U', user.name, '--auth=trust', '--no-sync', '--encoding=UTF8', '--locale=C'],
    { encoding: 'utf8', ...user.ids },
  );
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    const why = init.error?.message ?? init.stderr;
    throw new Error(`cannot initialise PostgreSQL (apt-get install postgresql; npm test's pretest does): ${why}`);
  }
  const port = await freeTcpPort();
  const args = [
    '-D',
    data,
    '-p',
    String(port),
    '-h',
    '127.0.0.1',
    '-k',
    dir,
    '-c',
    'fsync=off',
    '-c',
    'synchronous_commit=off',
    '-c',
    'full_page_writes=off',
  ];
  const child = spawn(program('postgres'), args, { stdio: ['ignore', 'ignore', 'pipe'], ...user.ids });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (error) => reject(new Error(`cannot start postgres: ${error.message}`)));
    child.once('exit', (code) => reject(new Error(`postgres exited with ${code}: ${stderr}`)));
  });
  failed.catch(() => undefined);
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      // SIGINT: PostgreSQL's fast shutdown (closes the clients' connections).
      child.kill('SIGINT');
      await once(child, 'exit');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await Promise.race([failed, waitUntilReady(program('pg_isready'), port)]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { host: '127.0.0.1', port, user: user.name, database: 'postgres', stop };
}

async function waitUntilReady(isReady: string, port: number): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (spawnSync(isReady, ['-h', '127.0.0.1', '-p', String(port), '-q']).status === 0) return;
    await sleep(50);
  }
  throw new Error(`postgres did not accept connections on ${port}`);
}
