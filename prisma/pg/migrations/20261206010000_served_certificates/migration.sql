-- CreateTable
CREATE TABLE "ServedCertificate" (
    "serverId" TEXT NOT NULL,
    "port" INTEGER NOT NULL,
    "topologyId" TEXT NOT NULL,
    "purpose" TEXT NOT NULL,
    "fingerprint" TEXT,
    "matches" BOOLEAN NOT NULL,
    "checkedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ServedCertificate_pkey" PRIMARY KEY ("serverId","port")
);

-- AddForeignKey
ALTER TABLE "ServedCertificate" ADD CONSTRAINT "ServedCertificate_serverId_fkey" FOREIGN KEY ("serverId") REFERENCES "Server"("id") ON DELETE CASCADE ON UPDATE CASCADE;

