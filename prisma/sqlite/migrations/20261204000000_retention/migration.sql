-- AlterTable
ALTER TABLE "Run" ADD COLUMN "eventsPrunedAt" DATETIME;

-- CreateIndex
CREATE INDEX "Run_finishedAt_idx" ON "Run"("finishedAt");

