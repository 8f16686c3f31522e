-- AlterTable
ALTER TABLE "Topology" ADD COLUMN     "adminNetworks" TEXT NOT NULL DEFAULT '[]',
ADD COLUMN     "firewallEnabled" BOOLEAN NOT NULL DEFAULT true,
ADD COLUMN     "reachability" TEXT;

-- CreateTable
CREATE TABLE "FirewallRule" (
    "id" TEXT NOT NULL,
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
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "FirewallRule_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "FirewallEvent" (
    "id" TEXT NOT NULL,
    "topologyId" TEXT NOT NULL,
    "serverId" TEXT NOT NULL,
    "serverName" TEXT NOT NULL,
    "runId" TEXT,
    "kind" TEXT NOT NULL,
    "rulesetHash" TEXT NOT NULL,
    "detail" TEXT NOT NULL,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "FirewallEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ControlPlaneAddress" (
    "address" TEXT NOT NULL,
    "firstSeenAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastSeenAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ControlPlaneAddress_pkey" PRIMARY KEY ("address")
);

-- CreateIndex
CREATE UNIQUE INDEX "FirewallRule_topologyId_name_key" ON "FirewallRule"("topologyId", "name");

-- CreateIndex
CREATE INDEX "FirewallEvent_topologyId_at_idx" ON "FirewallEvent"("topologyId", "at");

-- CreateIndex
CREATE UNIQUE INDEX "FirewallEvent_serverId_kind_rulesetHash_at_key" ON "FirewallEvent"("serverId", "kind", "rulesetHash", "at");

-- AddForeignKey
ALTER TABLE "FirewallRule" ADD CONSTRAINT "FirewallRule_topologyId_fkey" FOREIGN KEY ("topologyId") REFERENCES "Topology"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "FirewallEvent" ADD CONSTRAINT "FirewallEvent_topologyId_fkey" FOREIGN KEY ("topologyId") REFERENCES "Topology"("id") ON DELETE CASCADE ON UPDATE CASCADE;

