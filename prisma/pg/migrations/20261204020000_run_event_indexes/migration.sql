-- CreateIndex
CREATE INDEX "RunEvent_runId_level_seq_idx" ON "RunEvent"("runId", "level", "seq");

-- CreateIndex
CREATE INDEX "RunEvent_runId_host_seq_idx" ON "RunEvent"("runId", "host", "seq");

