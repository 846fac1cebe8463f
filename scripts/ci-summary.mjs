// Reads mocha JSON reports (label=path ...), prints each failure, and ends
// with the line CI reads: `N passed, M failed`. Exits 1 on any failure or
// on a missing report (mocha crashed before writing it).
import { existsSync, readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
for (const arg of process.argv.slice(2)) {
  const [label, path] = arg.split('=');
  if (!existsSync(path)) {
    console.log(`${label}: no report at ${path} (mocha did not finish)`);
    failed++;
    continue;
  }
  const report = JSON.parse(readFileSync(path, 'utf8'));
  const { passes, failures, pending } = report.stats;
  console.log(`${label}: ${passes} passed, ${failures} failed, ${pending} pending`);
  for (const failure of report.failures) {
    console.log(
      `  FAILED ${failure.fullTitle}\n    ${String(failure.err.stack ?? failure.err.message)
        .split('\n')
        .join('\n    ')}`,
    );
  }
  passed += passes;
  failed += failures;
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
