// MariaDB GTIDs ("domain-server-sequence"), pure: parsing positions and binlog
// states, finding errant transactions (ones a replica wrote itself that its primary
// never had) and the gap between two positions.

export interface Gtid {
  domain: number;
  server: number;
  seq: number;
}

export function parseGtids(list: string): Gtid[] {
  return list
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const m = /^(\d+)-(\d+)-(\d+)$/.exec(s);
      if (!m) throw new Error(`not a GTID: ${s}`);
      return { domain: Number(m[1]), server: Number(m[2]), seq: Number(m[3]) };
    });
}

export const formatGtids = (gs: readonly Gtid[]) => gs.map((g) => `${g.domain}-${g.server}-${g.seq}`).join(",");

/**
 * The candidate's binlog state entries its primary's binlog state does not cover: a
 * (domain, server) the primary never wrote or received, or a sequence past the
 * primary's for it. Such transactions exist only on the candidate (written there by
 * hand, say): promoting it would serve data the primary never had, and the other
 * replicas could not follow it.
 */
export function errantGtids(candidateBinlogState: string, primaryBinlogState: string): Gtid[] {
  const primary = parseGtids(primaryBinlogState);
  return parseGtids(candidateBinlogState).filter((c) => !primary.some((p) => p.domain === c.domain && p.server === c.server && p.seq >= c.seq));
}

/** Per domain, how many transactions `ahead` has that `behind` has not applied (positions: one GTID per domain). */
export function gtidGap(ahead: string, behind: string): Array<{ domain: number; missing: number; ahead: string; behind: string | null }> {
  const b = parseGtids(behind);
  return parseGtids(ahead)
    .map((a) => {
      const x = b.find((g) => g.domain === a.domain);
      return { domain: a.domain, missing: Math.max(0, a.seq - (x?.seq ?? 0)), ahead: formatGtids([a]), behind: x ? formatGtids([x]) : null };
    })
    .filter((g) => g.missing > 0);
}
