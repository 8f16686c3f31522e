-- AlterTable
ALTER TABLE "Topology" ADD COLUMN "dbStatus" TEXT;
ALTER TABLE "Topology" ADD COLUMN "dbStatusAt" DATETIME;

-- CreateTable
CREATE TABLE "TopologySecret" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "topologyId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "valueEnc" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "TopologySecret_topologyId_fkey" FOREIGN KEY ("topologyId") REFERENCES "Topology" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE UNIQUE INDEX "TopologySecret_topologyId_name_key" ON "TopologySecret"("topologyId", "name");

