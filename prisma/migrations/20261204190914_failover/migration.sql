-- AlterTable
ALTER TABLE "Replica" ADD COLUMN "failoverAt" DATETIME;
ALTER TABLE "Replica" ADD COLUMN "failoverPointId" TEXT;
ALTER TABLE "Replica" ADD COLUMN "failoverSessionId" TEXT;

-- CreateTable
CREATE TABLE "FailoverItem" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "sessionId" TEXT NOT NULL,
    "replicaId" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "snapshotId" TEXT,
    "networks" TEXT NOT NULL DEFAULT '[]',
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "FailoverItem_replicaId_fkey" FOREIGN KEY ("replicaId") REFERENCES "Replica" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE UNIQUE INDEX "FailoverItem_sessionId_key" ON "FailoverItem"("sessionId");

-- CreateIndex
CREATE INDEX "FailoverItem_replicaId_createdAt_idx" ON "FailoverItem"("replicaId", "createdAt");

