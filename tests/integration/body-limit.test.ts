// Request-body limits on the API entry points: 1 MiB, or the app archive's size for
// its upload; a chunked body without a length is counted as it arrives.
import { describe, expect, it } from "vitest";
import { BODY_LIMIT_BYTES, UPLOAD_BODY_LIMIT_BYTES, handleRest, handleTrpc, limitBody } from "@/server/api/http";

const post = (path: string, size: number, opts: { chunked?: boolean } = {}) => {
  const body = Buffer.alloc(size, 0x61);
  const headers: Record<string, string> = { "content-type": "application/json", origin: "http://localhost", host: "localhost", "x-rampart-csrf": "1" };
  if (!opts.chunked) headers["content-length"] = String(size);
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < size; i += 64 * 1024) c.enqueue(body.subarray(i, i + 64 * 1024));
      c.close();
    },
  });
  return new Request(`http://localhost${path}`, { method: "POST", headers, body: opts.chunked ? stream : body, ...(opts.chunked ? { duplex: "half" } : {}) } as RequestInit);
};

describe("request body limits", () => {
  it("refuses a body over 1 MiB with 413, declared or chunked, on tRPC and REST", async () => {
    for (const req of [post("/api/trpc/runs.cancel", BODY_LIMIT_BYTES + 1), post("/api/trpc/runs.cancel", 3 * BODY_LIMIT_BYTES, { chunked: true })]) {
      const res = await handleTrpc(req);
      expect(res.status).toBe(413);
      expect((await res.json()).error.message).toMatch(/larger than 1024 KiB/);
    }
    expect((await handleRest(post("/api/v1/runs/abc/cancel", BODY_LIMIT_BYTES + 1, { chunked: true }))).status).toBe(413);
  });

  it("lets bodies under the limit through intact, and app archives up to their own limit", async () => {
    const small = await limitBody(post("/api/trpc/runs.cancel", 1000, { chunked: true }));
    expect(small).toBeInstanceOf(Request);
    expect((await (small as Request).text()).length).toBe(1000);
    const upload = await limitBody(post("/api/trpc/topologies.uploadArtifact", 5 * BODY_LIMIT_BYTES));
    expect(upload).toBeInstanceOf(Request);
    const rest = await limitBody(post("/api/v1/topologies/t1/artifacts", 5 * BODY_LIMIT_BYTES));
    expect(rest).toBeInstanceOf(Request);
    expect(await limitBody(post("/api/trpc/topologies.uploadArtifact", UPLOAD_BODY_LIMIT_BYTES + 1))).toMatchObject({ status: 413 });
    // A batch without the upload keeps the 1 MiB limit.
    expect(await limitBody(post("/api/trpc/runs.cancel,topologies.setApp", 2 * BODY_LIMIT_BYTES))).toMatchObject({ status: 413 });
  });
});
