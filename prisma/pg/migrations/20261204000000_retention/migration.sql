-- AlterTable
ALTER TABLE "Run" ADD COLUMN     "eventsPrunedAt" TIMESTAMP(3);

-- CreateIndex
CREATE INDEX "Run_finishedAt_idx" ON "Run"("finishedAt");

