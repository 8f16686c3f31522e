-- CreateTable
CREATE TABLE "AcmeAccount" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "directoryUrl" TEXT NOT NULL,
    "contact" TEXT NOT NULL DEFAULT '[]',
    "keyEnc" TEXT NOT NULL,
    "accountUrl" TEXT NOT NULL,
    "thumbprint" TEXT NOT NULL,
    "termsUrl" TEXT NOT NULL DEFAULT '',
    "termsAgreedAt" TIMESTAMP(3) NOT NULL,
    "eabKeyId" TEXT,
    "trustPem" TEXT NOT NULL DEFAULT '',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "createdBy" TEXT NOT NULL,

    CONSTRAINT "AcmeAccount_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AcmeSite" (
    "topologyId" TEXT NOT NULL,
    "accountId" TEXT NOT NULL,
    "extraNames" TEXT NOT NULL DEFAULT '[]',
    "keyType" TEXT NOT NULL DEFAULT 'ecdsa-p256',
    "nextAttemptAt" TIMESTAMP(3),
    "lastAttemptAt" TIMESTAMP(3),
    "lastOutcome" TEXT,
    "lastError" TEXT,
    "failures" INTEGER NOT NULL DEFAULT 0,
    "ariStart" TIMESTAMP(3),
    "ariEnd" TIMESTAMP(3),
    "lastRunId" TEXT,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "AcmeSite_pkey" PRIMARY KEY ("topologyId")
);

-- CreateIndex
CREATE UNIQUE INDEX "AcmeAccount_name_key" ON "AcmeAccount"("name");

-- CreateIndex
CREATE INDEX "AcmeSite_accountId_idx" ON "AcmeSite"("accountId");

-- AddForeignKey
ALTER TABLE "AcmeSite" ADD CONSTRAINT "AcmeSite_topologyId_fkey" FOREIGN KEY ("topologyId") REFERENCES "Topology"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AcmeSite" ADD CONSTRAINT "AcmeSite_accountId_fkey" FOREIGN KEY ("accountId") REFERENCES "AcmeAccount"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

