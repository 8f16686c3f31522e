-- CreateTable
CREATE TABLE "FirewallRule" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "topologyId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "comment" TEXT NOT NULL DEFAULT '',
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "direction" TEXT NOT NULL DEFAULT 'in',
    "action" TEXT NOT NULL DEFAULT 'accept',
    "protocol" TEXT NOT NULL DEFAULT 'tcp',
    "portFrom" INTEGER NOT NULL,
    "portTo" INTEGER,
    "scope" TEXT NOT NULL DEFAULT 'topology',
    "scopeValue" TEXT,
    "peer" TEXT NOT NULL DEFAULT 'anywhere',
    "peerValue" TEXT,
    "createdBy" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "FirewallRule_topologyId_fkey" FOREIGN KEY ("topologyId") REFERENCES "Topology" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "FirewallEvent" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "topologyId" TEXT NOT NULL,
    "serverId" TEXT NOT NULL,
    "serverName" TEXT NOT NULL,
    "runId" TEXT,
    "kind" TEXT NOT NULL,
    "rulesetHash" TEXT NOT NULL,
    "detail" TEXT NOT NULL,
    "at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "FirewallEvent_topologyId_fkey" FOREIGN KEY ("topologyId") REFERENCES "Topology" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "ControlPlaneAddress" (
    "address" TEXT NOT NULL PRIMARY KEY,
    "firstSeenAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastSeenAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Topology" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "balance" TEXT NOT NULL DEFAULT 'roundrobin',
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    "driftStatus" TEXT NOT NULL DEFAULT 'unknown',
    "driftCheckedAt" DATETIME,
    "driftChanges" INTEGER,
    "lastPlanRunId" TEXT,
    "lastApplyRunId" TEXT,
    "app" TEXT,
    "appSecretsEnc" TEXT,
    "lbHealth" TEXT,
    "lbHealthAt" DATETIME,
    "rolloutBatchSize" INTEGER NOT NULL DEFAULT 5,
    "failureBudget" INTEGER NOT NULL DEFAULT 0,
    "firewallEnabled" BOOLEAN NOT NULL DEFAULT true,
    "adminNetworks" TEXT NOT NULL DEFAULT '[]',
    "reachability" TEXT
);
INSERT INTO "new_Topology" ("app", "appSecretsEnc", "balance", "createdAt", "driftChanges", "driftCheckedAt", "driftStatus", "failureBudget", "id", "lastApplyRunId", "lastPlanRunId", "lbHealth", "lbHealthAt", "name", "rolloutBatchSize", "updatedAt") SELECT "app", "appSecretsEnc", "balance", "createdAt", "driftChanges", "driftCheckedAt", "driftStatus", "failureBudget", "id", "lastApplyRunId", "lastPlanRunId", "lbHealth", "lbHealthAt", "name", "rolloutBatchSize", "updatedAt" FROM "Topology";
DROP TABLE "Topology";
ALTER TABLE "new_Topology" RENAME TO "Topology";
CREATE UNIQUE INDEX "Topology_name_key" ON "Topology"("name");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE UNIQUE INDEX "FirewallRule_topologyId_name_key" ON "FirewallRule"("topologyId", "name");

-- CreateIndex
CREATE INDEX "FirewallEvent_topologyId_at_idx" ON "FirewallEvent"("topologyId", "at");

-- CreateIndex
CREATE UNIQUE INDEX "FirewallEvent_serverId_kind_rulesetHash_at_key" ON "FirewallEvent"("serverId", "kind", "rulesetHash", "at");

