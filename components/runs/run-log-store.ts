// What the run page knows of a run's log, without holding it all: the log as of one
// seq (a snapshot: how many events match the filter, and the windows of them read
// so far), then the live events that came after it. Positions in the filtered log
// never move (events are only appended), so a window read once stays right while
// the run goes on, and the list can be scrolled anywhere in a log of any length.
// Plain TypeScript: React components subscribe (useSyncExternalStore) and render
// at most once per animation frame however fast events arrive.
import { type HostProgressDto, type RunEventDto, type RunLogDto, type RunLogFilter, matchesRunLogFilter } from "@/server/schemas/run";

/** Rows per request. */
export const LOG_PAGE = 200;
/** Live events kept past the snapshot before the snapshot moves forward (memory stays bounded on a long live run). */
const LIVE_MAX = 2_000;
/** Rows kept around the part on screen; the others are read again if scrolled back to. */
const ROWS_MAX = 20_000;

export type ReadLog = (q: RunLogFilter & { offset?: number; limit: number; uptoSeq?: number }) => Promise<RunLogDto>;

interface Snapshot {
  filter: RunLogFilter;
  /** The log as of this seq. */
  uptoSeq: number;
  /** Events up to uptoSeq that match the filter. */
  total: number;
}

export class RunLogStore {
  private snap: Snapshot | null = null;
  /** Filtered rows by position, below snap.total. */
  private rows = new Map<number, RunEventDto>();
  private loading = new Set<number>();
  /** Every live event after snap.uptoSeq, and those of them that match the filter. */
  private live: RunEventDto[] = [];
  private liveShown: RunEventDto[] = [];
  /** The highest seq known (stored when the snapshot was taken, or received live). */
  private seen = 0;
  /** uptoSeq of the first snapshot: live events are followed from there. */
  private firstUpto: number | null = null;
  private progressByHost = new Map<string, HostProgressDto>();
  /** Bumped by every change of filter: answers for an older one are dropped. */
  private epoch = 0;
  private moving = false;
  private retryMoveAt = 0;
  private pendingFilter: RunLogFilter | null = null;
  private listeners = new Set<() => void>();
  private version = 0;
  private frame: number | null = null;
  error: string | null = null;

  constructor(private readonly read: ReadLog) {}

  // For useSyncExternalStore.
  subscribe = (listener: () => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
  getVersion = () => this.version;

  /** Seq to follow live events from, once the first snapshot is there (null before). */
  get followFrom(): number | null {
    return this.firstUpto;
  }

  get ready() {
    return this.snap !== null;
  }
  get filter(): RunLogFilter {
    return this.pendingFilter ?? this.snap?.filter ?? {};
  }
  /** A filter change is being read. */
  get filtering() {
    return this.pendingFilter !== null;
  }
  /** Rows the list has (matching the filter). */
  get count() {
    return (this.snap?.total ?? 0) + this.liveShown.length;
  }
  /** Events in the log, whatever the filter (seqs are dense). */
  get lastSeq() {
    return this.seen;
  }
  get progress(): HostProgressDto[] {
    return [...this.progressByHost.values()];
  }

  /** The row at a position, or undefined while it is being read. */
  row(i: number): RunEventDto | undefined {
    const total = this.snap?.total ?? 0;
    return i < total ? this.rows.get(i) : this.liveShown[i - total];
  }

  /** Reads the log as of now with a new filter (the first call opens the log). */
  setFilter(filter: RunLogFilter) {
    const epoch = ++this.epoch;
    this.pendingFilter = filter;
    this.moving = false;
    this.emit();
    void this.readTail(filter, epoch, false);
  }

  /** Makes sure rows [from, to) are read (the part on screen and a margin). */
  ensure(from: number, to: number) {
    const snap = this.snap;
    if (!snap) return;
    const end = Math.min(to, snap.total);
    for (let page = Math.floor(Math.max(0, from) / LOG_PAGE); page * LOG_PAGE < end; page++) {
      if (this.loading.has(page)) continue;
      const first = Math.max(from, page * LOG_PAGE);
      const last = Math.min(end, (page + 1) * LOG_PAGE);
      let missing = false;
      for (let i = first; i < last && !missing; i++) missing = !this.rows.has(i);
      if (missing) void this.readPage(page, snap, this.epoch);
    }
    if (this.rows.size > ROWS_MAX) this.evictAround(from, to);
  }

  /** A live event (from the subscription, in seq order, exactly once after followFrom). */
  push(e: RunEventDto): boolean {
    if (e.seq <= this.seen) return false;
    this.seen = e.seq;
    if (e.level === "progress" && e.host) {
      const done = Number(e.data?.done);
      const total = Number(e.data?.total);
      if (Number.isFinite(done) && Number.isFinite(total)) this.progressByHost.set(e.host, { host: e.host, seq: e.seq, done, total, text: e.text });
    }
    this.live.push(e);
    if (this.snap && matchesRunLogFilter(e, this.snap.filter)) this.liveShown.push(e);
    if (this.live.length > LIVE_MAX && !this.moving && this.snap && !this.pendingFilter && Date.now() > this.retryMoveAt) {
      this.moving = true;
      void this.readTail(this.snap.filter, this.epoch, true);
    }
    this.schedule();
    return true;
  }

  /** Progress as the summary read it: the later of it and what came live wins, per host. */
  mergeProgress(list: HostProgressDto[]) {
    let changed = false;
    const merged = new Map<string, HostProgressDto>();
    for (const p of list) {
      const mine = this.progressByHost.get(p.host);
      merged.set(p.host, mine && mine.seq > p.seq ? mine : p);
      if (!mine || mine.seq < p.seq) changed = true;
    }
    for (const [host, p] of this.progressByHost) if (!merged.has(host)) merged.set(host, p);
    if (changed || merged.size !== this.progressByHost.size) {
      this.progressByHost = merged;
      this.emit();
    }
  }

  /**
   * The last rows of the log as of the latest seq seen. With a new filter it replaces
   * everything; with the same one (moving = true) it only moves the snapshot forward:
   * the live rows it now covers keep their positions.
   */
  private async readTail(filter: RunLogFilter, epoch: number, moving: boolean) {
    let page: RunLogDto;
    try {
      page = await this.read({ ...filter, limit: LOG_PAGE, uptoSeq: this.seen > 0 ? this.seen : undefined });
    } catch (err) {
      if (epoch !== this.epoch) return;
      this.error = err instanceof Error ? err.message : String(err);
      this.moving = false;
      if (moving) this.retryMoveAt = Date.now() + 5_000;
      else this.pendingFilter = null;
      this.emit();
      return;
    }
    if (epoch !== this.epoch) return;
    this.error = null;
    const prev = this.snap;
    if (moving && prev) {
      const covered = this.liveShown.filter((e) => e.seq <= page.uptoSeq);
      if (prev.total + covered.length === page.total) covered.forEach((e, k) => this.rows.set(prev.total + k, e));
      else this.rows.clear(); // should not happen (a hole in the live stream): read everything again
      this.moving = false;
    } else {
      this.rows.clear();
      this.loading.clear();
      this.pendingFilter = null;
    }
    this.snap = { filter, uptoSeq: page.uptoSeq, total: page.total };
    this.firstUpto ??= page.uptoSeq;
    this.seen = Math.max(this.seen, page.uptoSeq);
    page.items.forEach((e, k) => this.rows.set(page.offset + k, e));
    this.live = this.live.filter((e) => e.seq > page.uptoSeq);
    this.liveShown = this.live.filter((e) => matchesRunLogFilter(e, filter));
    this.emit();
  }

  private async readPage(page: number, snap: Snapshot, epoch: number) {
    this.loading.add(page);
    try {
      const res = await this.read({ ...snap.filter, offset: page * LOG_PAGE, limit: LOG_PAGE, uptoSeq: snap.uptoSeq });
      if (epoch !== this.epoch) return;
      res.items.forEach((e, k) => this.rows.set(res.offset + k, e));
      this.error = null;
    } catch (err) {
      if (epoch !== this.epoch) return;
      this.error = err instanceof Error ? err.message : String(err);
    } finally {
      if (epoch === this.epoch) this.loading.delete(page);
    }
    this.emit();
  }

  private evictAround(from: number, to: number) {
    const keepFrom = from - ROWS_MAX / 4;
    const keepTo = to + ROWS_MAX / 4;
    for (const i of this.rows.keys()) if (i < keepFrom || i >= keepTo) this.rows.delete(i);
  }

  private schedule() {
    if (this.frame !== null) return;
    const run = () => {
      this.frame = null;
      this.emit();
    };
    this.frame = typeof requestAnimationFrame === "function" ? requestAnimationFrame(run) : (setTimeout(run, 16) as unknown as number);
  }

  private emit() {
    this.version++;
    for (const l of this.listeners) l();
  }
}
