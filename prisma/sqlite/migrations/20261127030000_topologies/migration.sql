-- AlterTable
ALTER TABLE "Run" ADD COLUMN "cancelRequestedAt" DATETIME;
ALTER TABLE "Run" ADD COLUMN "cancelRequestedBy" TEXT;
ALTER TABLE "Run" ADD COLUMN "result" TEXT;
ALTER TABLE "Run" ADD COLUMN "retryOf" TEXT;
ALTER TABLE "Run" ADD COLUMN "topologyId" TEXT;

-- AlterTable
ALTER TABLE "RunEvent" ADD COLUMN "data" TEXT;

-- CreateTable
CREATE TABLE "Topology" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "balance" TEXT NOT NULL DEFAULT 'roundrobin',
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    "driftStatus" TEXT NOT NULL DEFAULT 'unknown',
    "driftCheckedAt" DATETIME,
    "driftChanges" INTEGER,
    "lastPlanRunId" TEXT,
    "lastApplyRunId" TEXT
);

-- CreateTable
CREATE TABLE "TopologyMember" (
    "topologyId" TEXT NOT NULL,
    "serverId" TEXT NOT NULL,
    "roles" TEXT NOT NULL DEFAULT '[]',
    "monitoring" BOOLEAN NOT NULL DEFAULT true,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,

    PRIMARY KEY ("topologyId", "serverId"),
    CONSTRAINT "TopologyMember_topologyId_fkey" FOREIGN KEY ("topologyId") REFERENCES "Topology" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "TopologyMember_serverId_fkey" FOREIGN KEY ("serverId") REFERENCES "Server" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);

-- CreateIndex
CREATE UNIQUE INDEX "Topology_name_key" ON "Topology"("name");

-- CreateIndex
CREATE UNIQUE INDEX "TopologyMember_serverId_key" ON "TopologyMember"("serverId");

-- CreateIndex
CREATE INDEX "Run_topologyId_idx" ON "Run"("topologyId");

