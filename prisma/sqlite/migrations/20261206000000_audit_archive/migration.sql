-- CreateTable
CREATE TABLE "AuditArchive" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "throughId" INTEGER NOT NULL,
    "file" TEXT NOT NULL,
    "archivedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- Entries leave the audit log only once archived (AUDIT_RETENTION_DAYS): the delete
-- trigger now lets through the ids up to AuditArchive.throughId, and nothing else.
DROP TRIGGER "AuditEntry_no_delete";
CREATE TRIGGER "AuditEntry_no_delete" BEFORE DELETE ON "AuditEntry"
WHEN OLD."id" > COALESCE((SELECT "throughId" FROM "AuditArchive" WHERE "id" = 1), 0)
BEGIN
  SELECT RAISE(ABORT, 'the audit log is append-only: only archived entries may leave it');
END;
