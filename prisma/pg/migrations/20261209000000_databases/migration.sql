-- AlterTable
ALTER TABLE "Topology" ADD COLUMN     "dbStatus" TEXT,
ADD COLUMN     "dbStatusAt" TIMESTAMP(3);

-- CreateTable
CREATE TABLE "TopologySecret" (
    "id" TEXT NOT NULL,
    "topologyId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "valueEnc" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "TopologySecret_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "TopologySecret_topologyId_name_key" ON "TopologySecret"("topologyId", "name");

-- AddForeignKey
ALTER TABLE "TopologySecret" ADD CONSTRAINT "TopologySecret_topologyId_fkey" FOREIGN KEY ("topologyId") REFERENCES "Topology"("id") ON DELETE CASCADE ON UPDATE CASCADE;

