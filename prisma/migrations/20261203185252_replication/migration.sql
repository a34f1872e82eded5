-- CreateTable
CREATE TABLE "ReplicationJob" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "vmExternalIds" TEXT NOT NULL,
    "targetSiteExternalId" TEXT NOT NULL,
    "targetHostExternalId" TEXT NOT NULL,
    "placements" TEXT NOT NULL,
    "keyMode" TEXT NOT NULL,
    "targetKeyProviderExternalId" TEXT,
    "refuseUnencrypted" BOOLEAN NOT NULL DEFAULT false,
    "keepPoints" INTEGER NOT NULL,
    "proxyMode" TEXT NOT NULL DEFAULT 'automatic',
    "proxyIds" TEXT NOT NULL DEFAULT '[]',
    "schedule" TEXT NOT NULL,
    "nextRunAt" DATETIME,
    "createdById" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "Replica" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "jobId" TEXT NOT NULL,
    "sourceVmExternalId" TEXT NOT NULL,
    "sourceVmName" TEXT NOT NULL,
    "sourceEncrypted" BOOLEAN NOT NULL DEFAULT false,
    "replicaVmExternalId" TEXT,
    "replicaVmName" TEXT NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'Ready',
    "keyMode" TEXT NOT NULL,
    "keyId" TEXT,
    "lastPointId" TEXT,
    "lastChangeIds" TEXT NOT NULL DEFAULT '[]',
    "lastRunAt" DATETIME,
    "lastRunStatus" TEXT,
    "lastRunError" TEXT,
    "warnings" TEXT NOT NULL DEFAULT '[]',
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Replica_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "ReplicationJob" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "ReplicaPoint" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "replicaId" TEXT NOT NULL,
    "snapshotId" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "keyIds" TEXT NOT NULL DEFAULT '[]',
    "keyMode" TEXT NOT NULL,
    "sessionId" TEXT,
    CONSTRAINT "ReplicaPoint_replicaId_fkey" FOREIGN KEY ("replicaId") REFERENCES "Replica" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_JobSession" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "kind" TEXT NOT NULL DEFAULT 'backup',
    "subject" TEXT NOT NULL DEFAULT '',
    "title" TEXT NOT NULL DEFAULT '',
    "jobId" TEXT,
    "state" TEXT NOT NULL,
    "trigger" TEXT NOT NULL,
    "requestedById" TEXT,
    "queuedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" DATETIME,
    "endedAt" DATETIME,
    "stopRequested" BOOLEAN NOT NULL DEFAULT false,
    "workerId" TEXT,
    "heartbeatAt" DATETIME,
    "progress" TEXT NOT NULL DEFAULT '{"vms":[]}',
    "log" TEXT NOT NULL DEFAULT '[]',
    "error" TEXT,
    "bytesRead" BIGINT NOT NULL DEFAULT 0,
    "bytesStored" BIGINT NOT NULL DEFAULT 0,
    "reason" TEXT,
    "replicationJobId" TEXT,
    CONSTRAINT "JobSession_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "BackupJob" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "JobSession_replicationJobId_fkey" FOREIGN KEY ("replicationJobId") REFERENCES "ReplicationJob" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_JobSession" ("bytesRead", "bytesStored", "endedAt", "error", "heartbeatAt", "id", "jobId", "kind", "log", "progress", "queuedAt", "reason", "requestedById", "startedAt", "state", "stopRequested", "subject", "title", "trigger", "workerId") SELECT "bytesRead", "bytesStored", "endedAt", "error", "heartbeatAt", "id", "jobId", "kind", "log", "progress", "queuedAt", "reason", "requestedById", "startedAt", "state", "stopRequested", "subject", "title", "trigger", "workerId" FROM "JobSession";
DROP TABLE "JobSession";
ALTER TABLE "new_JobSession" RENAME TO "JobSession";
CREATE INDEX "JobSession_jobId_queuedAt_idx" ON "JobSession"("jobId", "queuedAt");
CREATE INDEX "JobSession_replicationJobId_queuedAt_idx" ON "JobSession"("replicationJobId", "queuedAt");
CREATE INDEX "JobSession_state_idx" ON "JobSession"("state");
CREATE INDEX "JobSession_kind_queuedAt_idx" ON "JobSession"("kind", "queuedAt");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE UNIQUE INDEX "ReplicationJob_name_key" ON "ReplicationJob"("name");

-- CreateIndex
CREATE INDEX "ReplicationJob_nextRunAt_idx" ON "ReplicationJob"("nextRunAt");

-- CreateIndex
CREATE UNIQUE INDEX "Replica_jobId_sourceVmExternalId_key" ON "Replica"("jobId", "sourceVmExternalId");

-- CreateIndex
CREATE INDEX "ReplicaPoint_replicaId_createdAt_idx" ON "ReplicaPoint"("replicaId", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "ReplicaPoint_replicaId_snapshotId_key" ON "ReplicaPoint"("replicaId", "snapshotId");

