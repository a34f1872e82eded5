-- CreateTable
CREATE TABLE "BackupRepository" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "path" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "engineId" TEXT NOT NULL,
    "blockSize" INTEGER NOT NULL,
    "immutabilityDays" INTEGER NOT NULL DEFAULT 0,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastVerifyAt" DATETIME,
    "lastVerifyOutcome" TEXT,
    "lastVerifyReport" TEXT,
    "verifyRunning" BOOLEAN NOT NULL DEFAULT false
);

-- CreateTable
CREATE TABLE "BackupJob" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "selection" TEXT NOT NULL,
    "repositoryId" TEXT NOT NULL,
    "retentionPoints" INTEGER NOT NULL,
    "proxyMode" TEXT NOT NULL DEFAULT 'automatic',
    "proxyIds" TEXT NOT NULL DEFAULT '[]',
    "failoverToNetwork" BOOLEAN NOT NULL DEFAULT true,
    "encryptionMode" TEXT NOT NULL,
    "passwordKeyHeader" TEXT,
    "passwordKeySealed" TEXT,
    "passwordHint" TEXT,
    "passwordSetAt" DATETIME,
    "kmsKeyProviderId" TEXT,
    "kmsKeyName" TEXT,
    "schedule" TEXT NOT NULL,
    "nextRunAt" DATETIME,
    "createdById" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "BackupJob_repositoryId_fkey" FOREIGN KEY ("repositoryId") REFERENCES "BackupRepository" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "JobVmState" (
    "jobId" TEXT NOT NULL,
    "vmExternalId" TEXT NOT NULL,
    "chainId" TEXT NOT NULL,
    "changeIds" TEXT NOT NULL DEFAULT '{}',
    "lastPointId" TEXT,
    "updatedAt" DATETIME NOT NULL,

    PRIMARY KEY ("jobId", "vmExternalId"),
    CONSTRAINT "JobVmState_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "BackupJob" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "JobSession" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "jobId" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "trigger" TEXT NOT NULL,
    "requestedById" TEXT,
    "queuedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" DATETIME,
    "endedAt" DATETIME,
    "stopRequested" BOOLEAN NOT NULL DEFAULT false,
    "progress" TEXT NOT NULL DEFAULT '{"vms":[]}',
    "log" TEXT NOT NULL DEFAULT '[]',
    "error" TEXT,
    "bytesRead" BIGINT NOT NULL DEFAULT 0,
    "bytesStored" BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT "JobSession_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "BackupJob" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "RestorePoint" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "repositoryId" TEXT NOT NULL,
    "jobId" TEXT,
    "sessionId" TEXT,
    "chainId" TEXT NOT NULL,
    "vmExternalId" TEXT NOT NULL,
    "vmName" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL,
    "incremental" BOOLEAN NOT NULL,
    "vmEncrypted" BOOLEAN NOT NULL,
    "keyIds" TEXT NOT NULL,
    "diskCount" INTEGER NOT NULL,
    "bytesStored" BIGINT NOT NULL DEFAULT 0,
    "status" TEXT NOT NULL DEFAULT 'ok',
    CONSTRAINT "RestorePoint_repositoryId_fkey" FOREIGN KEY ("repositoryId") REFERENCES "BackupRepository" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "RestorePoint_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "BackupJob" ("id") ON DELETE SET NULL ON UPDATE CASCADE,
    CONSTRAINT "RestorePoint_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "JobSession" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);

-- CreateIndex
CREATE UNIQUE INDEX "BackupRepository_name_key" ON "BackupRepository"("name");

-- CreateIndex
CREATE UNIQUE INDEX "BackupRepository_path_key" ON "BackupRepository"("path");

-- CreateIndex
CREATE UNIQUE INDEX "BackupJob_name_key" ON "BackupJob"("name");

-- CreateIndex
CREATE INDEX "BackupJob_nextRunAt_idx" ON "BackupJob"("nextRunAt");

-- CreateIndex
CREATE INDEX "JobSession_jobId_queuedAt_idx" ON "JobSession"("jobId", "queuedAt");

-- CreateIndex
CREATE INDEX "JobSession_state_idx" ON "JobSession"("state");

-- CreateIndex
CREATE INDEX "RestorePoint_vmExternalId_createdAt_idx" ON "RestorePoint"("vmExternalId", "createdAt");

-- CreateIndex
CREATE INDEX "RestorePoint_jobId_createdAt_idx" ON "RestorePoint"("jobId", "createdAt");

