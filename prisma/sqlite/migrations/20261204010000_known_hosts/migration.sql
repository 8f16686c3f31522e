-- CreateTable
CREATE TABLE "KnownHost" (
    "endpoint" TEXT NOT NULL PRIMARY KEY,
    "hostKey" TEXT NOT NULL,
    "fingerprint" TEXT NOT NULL,
    "serverName" TEXT NOT NULL,
    "pinnedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);


-- Servers pinned before this table existed: remember their keys too.
INSERT INTO "KnownHost" ("endpoint", "hostKey", "fingerprint", "serverName")
SELECT CASE WHEN "address" LIKE '%:%' THEN '[' || lower("address") || ']:' ELSE lower("address") || ':' END || "port", "hostKey", "hostKeyFingerprint", "name"
FROM "Server" WHERE "hostKeyStatus" = 'pinned' AND "hostKey" IS NOT NULL AND "hostKeyFingerprint" IS NOT NULL
ON CONFLICT DO NOTHING;
