// Ends the run with the plain line CI reads ("N passed, N failed") and appends the
// counts to $RAMPART_TEST_SUMMARY so scripts/test.sh can total every suite.
import { appendFileSync } from "node:fs";
import type { Reporter, TestCase, TestModule } from "vitest/node";

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

  onTestRunEnd(modules: ReadonlyArray<TestModule>, errors: ReadonlyArray<unknown>) {
    // A file whose setup failed has only skipped tests: it counts as one failure.
    const brokenFiles = modules.filter((m) => m.errors().length > 0).length;
    const failed = this.failed + brokenFiles + (errors.length > 0 && this.failed + brokenFiles === 0 ? 1 : 0);
    const line = `${this.passed} passed, ${failed} failed${this.skipped ? `, ${this.skipped} skipped` : ""}`;
    const label = process.env.RAMPART_TEST_LABEL || "vitest"; // "vitest-pg" for the PostgreSQL run
    process.stdout.write(`\n${label}: ${line}\n`);
    if (process.env.RAMPART_TEST_SUMMARY) appendFileSync(process.env.RAMPART_TEST_SUMMARY, `${label} ${this.passed} ${failed} ${this.skipped}\n`);
  }
}
