-- CreateTable
CREATE TABLE "AcmeAccount" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "directoryUrl" TEXT NOT NULL,
    "contact" TEXT NOT NULL DEFAULT '[]',
    "keyEnc" TEXT NOT NULL,
    "accountUrl" TEXT NOT NULL,
    "thumbprint" TEXT NOT NULL,
    "termsUrl" TEXT NOT NULL DEFAULT '',
    "termsAgreedAt" DATETIME NOT NULL,
    "eabKeyId" TEXT,
    "trustPem" TEXT NOT NULL DEFAULT '',
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "createdBy" TEXT NOT NULL
);

-- CreateTable
CREATE TABLE "AcmeSite" (
    "topologyId" TEXT NOT NULL PRIMARY KEY,
    "accountId" TEXT NOT NULL,
    "extraNames" TEXT NOT NULL DEFAULT '[]',
    "keyType" TEXT NOT NULL DEFAULT 'ecdsa-p256',
    "nextAttemptAt" DATETIME,
    "lastAttemptAt" DATETIME,
    "lastOutcome" TEXT,
    "lastError" TEXT,
    "failures" INTEGER NOT NULL DEFAULT 0,
    "ariStart" DATETIME,
    "ariEnd" DATETIME,
    "lastRunId" TEXT,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "AcmeSite_topologyId_fkey" FOREIGN KEY ("topologyId") REFERENCES "Topology" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "AcmeSite_accountId_fkey" FOREIGN KEY ("accountId") REFERENCES "AcmeAccount" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);

-- CreateIndex
CREATE UNIQUE INDEX "AcmeAccount_name_key" ON "AcmeAccount"("name");

-- CreateIndex
CREATE INDEX "AcmeSite_accountId_idx" ON "AcmeSite"("accountId");

