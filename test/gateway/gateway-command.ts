import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppProcess } from '../register/app-process';
import { PROJECT_ROOT } from '../helpers/run-node';

/** The gateway command as `npm run gateway` runs it (main.ts through tsx). */
export const GATEWAY_TS = ['--import', 'tsx', 'examples/gateway/main.ts'];
/** The built command, as `node dist/examples/gateway/main.js` (run `npm run build` first). */
export const GATEWAY_BUILT = [join('dist', 'examples', 'gateway', 'main.js')];

/** Fails clearly when the built command is missing or older than its sources. */
export function checkBuilt(): void {
  const built = join(PROJECT_ROOT, GATEWAY_BUILT[0]);
  if (!existsSync(built)) throw new Error(`${built} is missing: run npm run build first`);
  if (statSync(built).mtimeMs < statSync(join(PROJECT_ROOT, 'examples', 'gateway', 'main.ts')).mtimeMs) {
    throw new Error(`${built} is older than examples/gateway/main.ts: run npm run build first`);
  }
}

/** A folder for the suite's configuration files, removed after it. */
export function configFolder(): { write(name: string, content: unknown): string } {
  let folder = '';
  before(() => {
    folder = mkdtempSync(join(tmpdir(), 'dynamic-hooks-gateway-'));
  });
  after(() => rmSync(folder, { recursive: true, force: true }));
  return {
    /** Writes `content` (a string as it is, anything else as JSON) and returns the path. */
    write(name, content) {
      const file = join(folder, name);
      writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
      return file;
    },
  };
}

/** A gateway process started by the command. */
export class GatewayProcess extends AppProcess {
  /** Waits for the start line and returns the URL it names. */
  async listening(): Promise<string> {
    return (await this.waitFor(/^gateway: listening on (\S+)/m))[1];
  }

  /** The `[request-debug]` lines of stdout. */
  logLines(): string[] {
    return this.stdout.split('\n').filter((line) => line.startsWith('[request-debug] '));
  }
}

/** The processes a suite started, killed after each test if still running. */
export function gatewaysOfSuite(): (
  command: readonly string[],
  args: readonly string[],
  env?: NodeJS.ProcessEnv,
) => GatewayProcess {
  const started: GatewayProcess[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((gateway) => gateway.stop()));
  });
  return (command, args, env = {}) => {
    const gateway = new GatewayProcess([...command, ...args], env);
    started.push(gateway);
    return gateway;
  };
}
