export interface Advisory {
  package: string;
  severity: string;
  title: string;
  id: string;
  range: string;
}
export function advisoriesOf(report: unknown): Advisory[];
export function judgeAudit(
  report: unknown,
  allow?: Array<{ id: string; reason: string; until: string }>,
  now?: Date,
): { failing: Advisory[]; allowed: Array<Advisory & { reason: string }>; reported: Advisory[]; problems: string[] };
