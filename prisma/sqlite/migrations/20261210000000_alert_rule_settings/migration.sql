-- CreateTable
CREATE TABLE "AlertRuleSetting" (
    "name" TEXT NOT NULL PRIMARY KEY,
    "threshold" REAL,
    "forS" INTEGER NOT NULL,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "updatedAt" DATETIME NOT NULL,
    "updatedBy" TEXT NOT NULL
);

