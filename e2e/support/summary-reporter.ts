// Ends the Playwright run with the plain line CI reads, and records the counts for
// scripts/test.sh's total.
import { appendFileSync } from "node:fs";
import type { Reporter, TestCase, TestResult } from "@playwright/test/reporter";

export default class SummaryReporter implements Reporter {
  private readonly outcome = new Map<string, string>();

  onTestEnd(test: TestCase, result: TestResult) {
    this.outcome.set(test.id, result.status);
  }

  onEnd() {
    const all = [...this.outcome.values()];
    const passed = all.filter((s) => s === "passed").length;
    const skipped = all.filter((s) => s === "skipped").length;
    const failed = all.length - passed - skipped;
    process.stdout.write(`\nplaywright: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}\n`);
    if (process.env.RAMPART_TEST_SUMMARY) appendFileSync(process.env.RAMPART_TEST_SUMMARY, `playwright ${passed} ${failed} ${skipped}\n`);
  }
}
