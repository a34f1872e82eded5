-- CreateTable
CREATE TABLE "SessionVm" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "sessionId" TEXT NOT NULL,
    "position" INTEGER NOT NULL,
    "vmExternalId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'pending',
    "progress" TEXT NOT NULL,
    "workerId" TEXT,
    "attempt" INTEGER NOT NULL DEFAULT 0,
    "heartbeatAt" DATETIME,
    "startedAt" DATETIME,
    "endedAt" DATETIME,
    CONSTRAINT "SessionVm_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "JobSession" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "SessionEvent" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "sessionId" TEXT NOT NULL,
    "at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "type" TEXT NOT NULL,
    "level" TEXT NOT NULL DEFAULT 'info',
    "vmExternalId" TEXT,
    "workerId" TEXT,
    "text" TEXT NOT NULL DEFAULT '',
    "data" TEXT NOT NULL DEFAULT '{}',
    CONSTRAINT "SessionEvent_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "JobSession" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "ProxyTask" (
    "proxyExternalId" TEXT NOT NULL,
    "slot" INTEGER NOT NULL,
    "sessionId" TEXT NOT NULL,
    "vmExternalId" TEXT NOT NULL,
    "deviceKey" INTEGER NOT NULL,
    "workerId" TEXT NOT NULL,
    "takenAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "leaseUntil" DATETIME NOT NULL,

    PRIMARY KEY ("proxyExternalId", "slot")
);

-- CreateTable
CREATE TABLE "JobWorker" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "role" TEXT NOT NULL,
    "host" TEXT NOT NULL,
    "pid" INTEGER NOT NULL,
    "startedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "heartbeatAt" DATETIME NOT NULL,
    "stoppedAt" DATETIME,
    "tasks" TEXT NOT NULL DEFAULT '[]'
);

-- CreateTable
CREATE TABLE "QueueJob" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "kind" TEXT NOT NULL,
    "payload" TEXT NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'created',
    "singletonKey" TEXT,
    "attempt" INTEGER NOT NULL DEFAULT 0,
    "retryLimit" INTEGER NOT NULL DEFAULT 2,
    "startAfter" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "leaseUntil" DATETIME,
    "workerId" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" DATETIME,
    "completedAt" DATETIME,
    "error" TEXT
);

-- CreateTable
CREATE TABLE "QueueSchedule" (
    "name" TEXT NOT NULL PRIMARY KEY,
    "cron" TEXT NOT NULL,
    "tz" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "payload" TEXT NOT NULL DEFAULT '{}',
    "nextRunAt" DATETIME NOT NULL,
    "lastRunAt" DATETIME
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
    CONSTRAINT "JobSession_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "BackupJob" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_JobSession" ("bytesRead", "bytesStored", "endedAt", "error", "id", "jobId", "log", "progress", "queuedAt", "requestedById", "startedAt", "state", "stopRequested", "trigger") SELECT "bytesRead", "bytesStored", "endedAt", "error", "id", "jobId", "log", "progress", "queuedAt", "requestedById", "startedAt", "state", "stopRequested", "trigger" FROM "JobSession";
DROP TABLE "JobSession";
ALTER TABLE "new_JobSession" RENAME TO "JobSession";
CREATE INDEX "JobSession_jobId_queuedAt_idx" ON "JobSession"("jobId", "queuedAt");
CREATE INDEX "JobSession_state_idx" ON "JobSession"("state");
CREATE INDEX "JobSession_kind_queuedAt_idx" ON "JobSession"("kind", "queuedAt");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE UNIQUE INDEX "SessionVm_sessionId_vmExternalId_key" ON "SessionVm"("sessionId", "vmExternalId");

-- CreateIndex
CREATE INDEX "SessionEvent_sessionId_id_idx" ON "SessionEvent"("sessionId", "id");

-- CreateIndex
CREATE INDEX "QueueJob_state_kind_startAfter_idx" ON "QueueJob"("state", "kind", "startAfter");

-- CreateIndex
CREATE INDEX "QueueJob_singletonKey_idx" ON "QueueJob"("singletonKey");

