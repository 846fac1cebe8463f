import { InstrumentationNodeModuleDefinition, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import type * as dns from 'node:dns';
import { startOperation } from '../../src/instrumentation-api';
import { endOperation, endOperationWithError } from '../common/end-operation';
import { TimingHookInstrumentation } from '../common/timing-hook-instrumentation';

type DnsModule = typeof dns;
type DnsPromises = typeof dns.promises;

/** The query methods of a resolver (and of the module, bound to its default resolver). */
const RESOLVE_METHODS = [
  'resolve',
  'resolve4',
  'resolve6',
  'resolveAny',
  'resolveCaa',
  'resolveCname',
  'resolveMx',
  'resolveNaptr',
  'resolveNs',
  'resolvePtr',
  'resolveSoa',
  'resolveSrv',
  'resolveTxt',
  'reverse',
] as const;

type Method = (typeof RESOLVE_METHODS)[number] | 'lookup';

/**
 * Times DNS queries as Kong times `resty.dns.client.toip`: `dns` > the
 * queried name > `resolve`, from the call until the answer (callback or
 * promise), for `dns.lookup`, `dns.promises.lookup` (also reached as
 * `dns/promises`) and every `resolve*` method of the module and of
 * `Resolver` objects, callback and promise flavours.
 */
export class DnsInstrumentation extends TimingHookInstrumentation {
  constructor(config: InstrumentationConfig = {}) {
    super('dns', config);
  }

  protected init(): InstrumentationNodeModuleDefinition[] {
    return [
      new InstrumentationNodeModuleDefinition(
        'dns',
        ['*'],
        (exports: DnsModule) => {
          this.patchCallbacks(exports);
          this.patchPromises(exports.promises);
          return exports;
        },
        (exports: DnsModule | undefined) => {
          this.unhookAll(exports);
          this.unhookAll(exports?.Resolver.prototype);
          this.unpatchPromises(exports?.promises);
        },
      ),
      new InstrumentationNodeModuleDefinition(
        'dns/promises',
        ['*'],
        (exports: DnsPromises) => {
          this.patchPromises(exports);
          return exports;
        },
        (exports: DnsPromises | undefined) => {
          this.unpatchPromises(exports);
        },
      ),
    ];
  }

  private patchCallbacks(exports: DnsModule): void {
    for (const target of [exports, exports.Resolver.prototype] as Record<Method, unknown>[]) {
      for (const method of ['lookup', ...RESOLVE_METHODS] as const) {
        this.hookTiming(target, method, 'varargs', QUERY_HANDLERS, { mode: 'callback', name: `dns.${method}` });
      }
    }
  }

  private patchPromises(exports: DnsPromises): void {
    for (const target of [exports, exports.Resolver.prototype] as Record<Method, unknown>[]) {
      for (const method of ['lookup', ...RESOLVE_METHODS] as const) {
        this.hookTiming(target, method, 'varargs', QUERY_HANDLERS, {
          mode: 'promise',
          name: `dns.promises.${method}`,
        });
      }
    }
  }

  private unpatchPromises(exports: DnsPromises | undefined): void {
    this.unhookAll(exports);
    this.unhookAll(exports?.Resolver.prototype);
  }
}

const QUERY_HANDLERS = {
  befores: [
    (name: unknown): void => {
      const qname = typeof name === 'string' ? name : String(name);
      startOperation(['dns', qname, 'resolve'], { 'dns.question.name': qname });
    },
  ],
  afters: [endOperation],
  errors: [endOperationWithError],
};
