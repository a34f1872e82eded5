-- CreateTable
CREATE TABLE "BackupRepository" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "path" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "engineId" TEXT NOT NULL,
    "blockSize" INTEGER NOT NULL,
    "immutabilityDays" INTEGER NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastVerifyAt" TIMESTAMP(3),
    "lastVerifyOutcome" TEXT,
    "lastVerifyReport" TEXT,
    "verifyRunning" BOOLEAN NOT NULL DEFAULT false,

    CONSTRAINT "BackupRepository_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "BackupJob" (
    "id" TEXT NOT NULL,
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
    "passwordSetAt" TIMESTAMP(3),
    "kmsKeyProviderId" TEXT,
    "kmsKeyName" TEXT,
    "schedule" TEXT NOT NULL,
    "nextRunAt" TIMESTAMP(3),
    "createdById" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "BackupJob_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "JobVmState" (
    "jobId" TEXT NOT NULL,
    "vmExternalId" TEXT NOT NULL,
    "chainId" TEXT NOT NULL,
    "changeIds" TEXT NOT NULL DEFAULT '{}',
    "lastPointId" TEXT,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "JobVmState_pkey" PRIMARY KEY ("jobId","vmExternalId")
);

-- CreateTable
CREATE TABLE "JobSession" (
    "id" TEXT NOT NULL,
    "jobId" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "trigger" TEXT NOT NULL,
    "requestedById" TEXT,
    "queuedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMP(3),
    "endedAt" TIMESTAMP(3),
    "stopRequested" BOOLEAN NOT NULL DEFAULT false,
    "progress" TEXT NOT NULL DEFAULT '{"vms":[]}',
    "log" TEXT NOT NULL DEFAULT '[]',
    "error" TEXT,
    "bytesRead" BIGINT NOT NULL DEFAULT 0,
    "bytesStored" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "JobSession_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "RestorePoint" (
    "id" TEXT NOT NULL,
    "repositoryId" TEXT NOT NULL,
    "jobId" TEXT,
    "sessionId" TEXT,
    "chainId" TEXT NOT NULL,
    "vmExternalId" TEXT NOT NULL,
    "vmName" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL,
    "incremental" BOOLEAN NOT NULL,
    "vmEncrypted" BOOLEAN NOT NULL,
    "keyIds" TEXT NOT NULL,
    "diskCount" INTEGER NOT NULL,
    "bytesStored" BIGINT NOT NULL DEFAULT 0,
    "status" TEXT NOT NULL DEFAULT 'ok',

    CONSTRAINT "RestorePoint_pkey" PRIMARY KEY ("id")
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

-- AddForeignKey
ALTER TABLE "BackupJob" ADD CONSTRAINT "BackupJob_repositoryId_fkey" FOREIGN KEY ("repositoryId") REFERENCES "BackupRepository"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "JobVmState" ADD CONSTRAINT "JobVmState_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "BackupJob"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "JobSession" ADD CONSTRAINT "JobSession_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "BackupJob"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RestorePoint" ADD CONSTRAINT "RestorePoint_repositoryId_fkey" FOREIGN KEY ("repositoryId") REFERENCES "BackupRepository"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RestorePoint" ADD CONSTRAINT "RestorePoint_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "BackupJob"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RestorePoint" ADD CONSTRAINT "RestorePoint_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "JobSession"("id") ON DELETE SET NULL ON UPDATE CASCADE;

