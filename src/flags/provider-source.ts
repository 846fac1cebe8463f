import type * as ServerSdk from '@openfeature/server-sdk';
import { createRequire } from 'node:module';
import { listGroups } from '../core/groups';
import { reportHandlerFailure } from '../core/report-failure';
import { tellOperator } from '../timing/logger';
import { TIMING_AUTH_GROUP, TIMING_GROUP } from '../names/hooks';
import type { FlagRuleSet, TargetedFlag } from './flagd-rules';
import { FLAG_KEY_PREFIX, FLAG_RULES_GROUP } from './names';

/** The optional peer dependency through which an OpenFeature provider is evaluated. */
export const SERVER_SDK_PACKAGE = '@openfeature/server-sdk';

/** The OpenFeature domain whose provider the debug rules evaluate. */
export const OPENFEATURE_DOMAIN = 'dynamic-hooks';

/** An OpenFeature server provider (`Provider` of `@openfeature/server-sdk`), as the options accept it. */
export interface OpenFeatureProviderLike {
  /** The provider's metadata, as OpenFeature defines it. */
  readonly metadata: {
    /** The provider's name, which the debug rules' messages show. */
    readonly name: string;
  };
}

function loadServerSdk(): typeof ServerSdk {
  const load = createRequire(__filename);
  try {
    load.resolve(SERVER_SDK_PACKAGE);
  } catch {
    throw new Error(
      `debug rules from an OpenFeature provider need ${SERVER_SDK_PACKAGE}, which is not installed. ` +
        `Install it next to dynamic-hooks: npm install ${SERVER_SDK_PACKAGE}`,
    );
  }
  return load(SERVER_SDK_PACKAGE) as typeof ServerSdk;
}

/** Makes sure the server SDK can be loaded (throws the install hint otherwise). */
export function requireServerSdk(): void {
  loadServerSdk();
}

const NO_REQUEST_RULES = (): boolean => false;

/**
 * Process-wide switches from any OpenFeature provider, set on the
 * `dynamic-hooks` domain: whenever the provider is ready or its
 * configuration changes, each group's flag `dynamic-hooks.<group>` is
 * evaluated without a context, and a flag the provider resolves
 * statically (reason `STATIC`; `DISABLED` or not found is off) switches
 * its group. The OpenFeature evaluation is asynchronous, so flags with
 * targeting are not evaluated per request from a provider: they are
 * reported once on stderr, and left alone.
 */
export class ProviderSource {
  readonly description: string;
  private client: ServerSdk.Client | undefined;
  private refreshing: Promise<void> | undefined;
  private again = false;
  private closed = false;
  private readonly reported = new Set<string>();
  private readonly refresh = (): void => {
    if (this.refreshing !== undefined) {
      this.again = true;
      return;
    }
    this.refreshing = this.evaluateAll()
      .catch((error: unknown) => reportHandlerFailure(FLAG_RULES_GROUP, 'provider', error))
      .finally(() => {
        this.refreshing = undefined;
        if (this.again && !this.closed) {
          this.again = false;
          this.refresh();
        }
      });
  };

  constructor(
    private readonly provider: OpenFeatureProviderLike,
    private readonly groups: readonly string[] | undefined,
    private readonly apply: (rules: FlagRuleSet) => void,
  ) {
    this.description = `OpenFeature provider ${provider.metadata.name}`;
  }

  start(): void {
    const { OpenFeature, ProviderEvents } = loadServerSdk();
    OpenFeature.setProvider(OPENFEATURE_DOMAIN, this.provider as ServerSdk.Provider);
    const client = OpenFeature.getClient(OPENFEATURE_DOMAIN);
    this.client = client;
    // A handler added when the provider is ready already runs at once.
    client.addHandler(ProviderEvents.Ready, this.refresh);
    client.addHandler(ProviderEvents.ConfigurationChanged, this.refresh);
  }

  close(): void {
    this.closed = true;
    const client = this.client;
    if (client === undefined) return;
    const { ProviderEvents } = loadServerSdk();
    client.removeHandler(ProviderEvents.Ready, this.refresh);
    client.removeHandler(ProviderEvents.ConfigurationChanged, this.refresh);
  }

  /** Settles once the evaluation in progress (if any) is applied. */
  async settled(): Promise<void> {
    while (this.refreshing !== undefined) await this.refreshing;
  }

  private async evaluateAll(): Promise<void> {
    const client = this.client;
    if (client === undefined) return;
    const switches = new Map<string, boolean>();
    const targeted: TargetedFlag[] = [];
    for (const group of this.groupsToEvaluate()) {
      const key = `${FLAG_KEY_PREFIX}${group}`;
      const details = await client.getBooleanDetails(key, false);
      if (details.reason === 'STATIC' || details.reason === 'DISABLED') switches.set(group, details.value);
      else if (details.reason === 'ERROR') {
        if (String(details.errorCode) !== 'FLAG_NOT_FOUND')
          this.report(key, `cannot be evaluated: ${details.errorMessage ?? details.errorCode}`);
      } else {
        targeted.push({ key, group });
        this.report(
          key,
          `resolves by targeting (reason ${details.reason ?? 'unknown'}): per-request rules need a flagd ` +
            'definition evaluated in process (debugRulesFromFlags({ file }) or DYNAMIC_HOOKS_FLAGS_FILE); left alone',
        );
      }
    }
    if (this.closed) return;
    this.apply({ switches, targeted: [], evaluate: NO_REQUEST_RULES });
  }

  private groupsToEvaluate(): string[] {
    if (this.groups !== undefined) return [...this.groups];
    const names = new Set(listGroups().map((group) => group.name));
    names.add(TIMING_GROUP);
    names.delete(FLAG_RULES_GROUP);
    names.delete(TIMING_AUTH_GROUP);
    return [...names];
  }

  private report(key: string, what: string): void {
    const message = `flag ${key} from ${this.description} ${what}`;
    if (this.reported.has(message)) return;
    this.reported.add(message);
    tellOperator('warn', message);
  }
}
