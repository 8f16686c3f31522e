-- CreateTable
CREATE TABLE "AlertRuleSetting" (
    "name" TEXT NOT NULL,
    "threshold" DOUBLE PRECISION,
    "forS" INTEGER NOT NULL,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "updatedBy" TEXT NOT NULL,

    CONSTRAINT "AlertRuleSetting_pkey" PRIMARY KEY ("name")
);

