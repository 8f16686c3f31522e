// Ends the run with the plain line CI reads ("N passed, N failed") and appends the
// counts to $RAMPART_TEST_SUMMARY so scripts/test.sh can total every suite.
import { appendFileSync } from "node:fs";
import type { Reporter, TestCase } from "vitest/node";

export default class SummaryReporter implements Reporter {
  private passed = 0;
  private failed = 0;
  private skipped = 0;

  onTestCaseResult(testCase: TestCase) {
    const state = testCase.result().state;
    if (state === "passed") this.passed++;
    else if (state === "failed") this.failed++;
    else this.skipped++;
  }

  onTestRunEnd(_modules: unknown, errors: ReadonlyArray<unknown>) {
    const failed = this.failed + (errors.length > 0 && this.failed === 0 ? 1 : 0);
    const line = `${this.passed} passed, ${failed} failed${this.skipped ? `, ${this.skipped} skipped` : ""}`;
    process.stdout.write(`\nvitest: ${line}\n`);
    if (process.env.RAMPART_TEST_SUMMARY) appendFileSync(process.env.RAMPART_TEST_SUMMARY, `vitest ${this.passed} ${failed} ${this.skipped}\n`);
  }
}
