-- AlterTable
ALTER TABLE "Run" ADD COLUMN "confirmedAt" DATETIME;
ALTER TABLE "Run" ADD COLUMN "confirmedBy" TEXT;

-- AlterTable
-- A column with a constant default can be added in place: no need to rebuild the table.
ALTER TABLE "Topology" ADD COLUMN "rolloutBatchSize" INTEGER NOT NULL DEFAULT 5;
ALTER TABLE "Topology" ADD COLUMN "failureBudget" INTEGER NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "RunPhase" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "runId" TEXT NOT NULL,
    "position" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "startedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" DATETIME,
    "attempts" INTEGER NOT NULL DEFAULT 1,
    "data" TEXT,
    "error" TEXT,
    CONSTRAINT "RunPhase_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE UNIQUE INDEX "RunPhase_runId_name_key" ON "RunPhase"("runId", "name");
