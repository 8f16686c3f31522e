-- AlterTable
ALTER TABLE "Topology" ADD COLUMN "app" TEXT;
ALTER TABLE "Topology" ADD COLUMN "appSecretsEnc" TEXT;
ALTER TABLE "Topology" ADD COLUMN "lbHealth" TEXT;
ALTER TABLE "Topology" ADD COLUMN "lbHealthAt" DATETIME;

-- CreateTable
CREATE TABLE "CertificateAuthority" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "certPem" TEXT NOT NULL,
    "keyEnc" TEXT NOT NULL,
    "fingerprint" TEXT NOT NULL,
    "notBefore" DATETIME NOT NULL,
    "notAfter" DATETIME NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "Certificate" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "purpose" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "topologyId" TEXT,
    "serverId" TEXT,
    "names" TEXT NOT NULL,
    "certPem" TEXT NOT NULL,
    "chainPem" TEXT NOT NULL DEFAULT '',
    "keyEnc" TEXT NOT NULL,
    "fingerprint" TEXT NOT NULL,
    "issuer" TEXT NOT NULL,
    "notBefore" DATETIME NOT NULL,
    "notAfter" DATETIME NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "createdBy" TEXT NOT NULL,
    "replacedAt" DATETIME,
    CONSTRAINT "Certificate_topologyId_fkey" FOREIGN KEY ("topologyId") REFERENCES "Topology" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Certificate_serverId_fkey" FOREIGN KEY ("serverId") REFERENCES "Server" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_TopologyMember" (
    "topologyId" TEXT NOT NULL,
    "serverId" TEXT NOT NULL,
    "roles" TEXT NOT NULL DEFAULT '[]',
    "monitoring" BOOLEAN NOT NULL DEFAULT true,
    "drained" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,

    PRIMARY KEY ("topologyId", "serverId"),
    CONSTRAINT "TopologyMember_topologyId_fkey" FOREIGN KEY ("topologyId") REFERENCES "Topology" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "TopologyMember_serverId_fkey" FOREIGN KEY ("serverId") REFERENCES "Server" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);
INSERT INTO "new_TopologyMember" ("createdAt", "monitoring", "roles", "serverId", "topologyId") SELECT "createdAt", "monitoring", "roles", "serverId", "topologyId" FROM "TopologyMember";
DROP TABLE "TopologyMember";
ALTER TABLE "new_TopologyMember" RENAME TO "TopologyMember";
CREATE UNIQUE INDEX "TopologyMember_serverId_key" ON "TopologyMember"("serverId");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE INDEX "Certificate_topologyId_purpose_idx" ON "Certificate"("topologyId", "purpose");

-- CreateIndex
CREATE INDEX "Certificate_serverId_purpose_idx" ON "Certificate"("serverId", "purpose");

