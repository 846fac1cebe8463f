// The seed's example: a hooked console.log, then a named hook run in a
// request scope. Run it with `npm run example:hello`; docs/core-api.md shows the same
// code as a user writes it, importing the package by its name.
import { diag, DiagConsoleLogger, DiagLogLevel } from '@opentelemetry/api';
import { dynamicHook } from '../../src';

diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.INFO);

dynamicHook.hookFunction('my_group', console, 'log', 'varargs', {
  befores: [() => process.stdout.write('hello, ')],
});
dynamicHook.alwaysEnable('my_group');
console.log('world!'); // hello, world!

dynamicHook.hook('event_group', 'log_event', (a: number, b: string) => diag.info(`event ${a}, ${b}`));
dynamicHook.withRequestScope(() => {
  dynamicHook.enableOnThisRequest('event_group');
  dynamicHook.runHook('event_group', 'log_event', 10, 'test');
});
