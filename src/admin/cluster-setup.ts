import cluster from 'node:cluster';
import { relayAdminToWorkers } from './cluster-relay';
import { installWorkerAgent } from './cluster-worker';

/**
 * Loading dynamic-hooks sets up the admin endpoint's cluster support: in
 * a node:cluster worker, the listener that applies the switches the
 * primary relays (so a worker that did not start the endpoint is switched
 * too); in any other process, the relay, which does nothing until a
 * worker asks.
 */
export function installAdminClusterSupport(): void {
  if (cluster.isWorker) installWorkerAgent();
  else relayAdminToWorkers();
}
